"""The shadow review pages and the live switch in a real headless Chromium (Playwright)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from autoreply.models import AutoReplyPolicy, AutoReplySettings, PolicyAudit, ShadowReview
from bearscope.testing.factories import PASSWORD

from .factories import ShadowReplyFactory

# live_server serves from another thread, so the data must be committed. The flush after each test
# removes the groups the migrations made; the reviewer fixtures make them again when missing.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def log_in(page, live_server, username: str, next_url: str) -> None:
    page.goto(f"{live_server.url}{next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def readiness_cell(page, policy: AutoReplyPolicy, cell: str) -> str:
    return page.locator(f'#readiness-table tr[data-policy="{policy.pk}"] [data-cell="{cell}"]').inner_text()


def test_a_reviewer_grades_shadow_replies_and_sees_readiness_change(
    page, live_server, starter, reply_reviewer
):
    AutoReplySettings.objects.filter(pk=1).update(readiness_min_graded=2, readiness_min_approval="0.05")
    first = ShadowReplyFactory(
        policy=starter, classification__conversation__name="Where is my trail runner order?"
    )
    second = ShadowReplyFactory(policy=starter, classification__conversation__name="Parcel stuck in Memphis")

    log_in(page, live_server, "sam", reverse("autoreply:shadow_index"))
    assert page.get_by_role("heading", name="Shadow replies", exact=True).is_visible()
    assert readiness_cell(page, starter, "graded") == "0"
    assert readiness_cell(page, starter, "ready") == "Not yet: 2 more good grades"

    page.get_by_role("link", name="Where is my trail runner order?").click()
    page.wait_for_url(re.compile(rf"/autoreply/shadow/{first.pk}/$"))
    assert "Order BS-100234 is on its way with UPS." in page.locator("#shadow-reply").inner_text()
    assert page.locator("#checks-table").get_by_text("auto-replies are on").is_visible()
    page.get_by_label("Good as is").focus()  # keyboard only: Space chooses, Enter on the button saves
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save and open next").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/autoreply/shadow/{second.pk}/$"))
    assert "graded “Good as is”" in page.locator(".messages").inner_text()

    page.get_by_label("Wrong data").check()
    page.get_by_label("Note").fill("The delivery date is last week's.")
    page.get_by_role("button", name="Save and open next").click()
    page.wait_for_url(re.compile(r"/autoreply/shadow/$"))
    assert "Every shadow reply has been graded" in page.locator(".messages").inner_text()
    assert readiness_cell(page, starter, "graded") == "2"
    assert readiness_cell(page, starter, "approval") == "50%"
    assert readiness_cell(page, starter, "ready") == "Ready"
    assert list(ShadowReview.objects.order_by("pk").values_list("grade", flat=True)) == ["good", "wrong_data"]


def test_the_live_switch_is_refused_below_the_bar(page, live_server, starter):
    get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
    ShadowReplyFactory(policy=starter)
    url = reverse("admin:autoreply_autoreplypolicy_change", args=[starter.pk])
    log_in(page, live_server, "ops", url)
    page.wait_for_url(re.compile(re.escape(url)))
    page.get_by_label("Mode").select_option("live")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    errors = page.locator(".errorlist").inner_text()
    assert "cannot go live yet: no graded replies" in errors and "It needs 50 more good grades" in errors
    starter.refresh_from_db()
    assert starter.mode == "shadow" and not PolicyAudit.objects.exists()

    page.get_by_label("Mode").select_option("live")
    page.get_by_label("Override reason").fill("Holiday backlog; approved by the support lead")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/autoreply/autoreplypolicy/$"))
    starter.refresh_from_db()
    assert starter.mode == "live"
    assert PolicyAudit.objects.get().override_reason == "Holiday backlog; approved by the support lead"
