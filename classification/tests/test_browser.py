"""The triage pages in a real headless Chromium (Playwright) against the live test server."""

import os
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bearscope.testing.factories import PASSWORD
from classification.models import ClassifierSettings, TriageReview
from kustomer.tests.factories import ConversationFactory, MessageFactory
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID

from .factories import ClassificationFactory

# live_server serves from another thread, so the data must be committed; serialized_rollback
# restores the "Triage reviewers" group the migration made, which the flush after each test removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def log_in(page, live_server, username: str, next_url: str) -> None:
    page.goto(f"{live_server.url}{next_url}")
    assert page.url.startswith(f"{live_server.url}{reverse('login')}?next=")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_reviewer_filters_corrects_and_moves_on(page, live_server, taxonomy, reviewer, kustomer_sandbox):
    ClassifierSettings.load()
    now = timezone.now()
    first_conversation = ConversationFactory(kustomer_id=CONVERSATION_ID, name="Password or parcel?")
    MessageFactory(
        conversation=first_conversation,
        body="I can't log in to see my order",
        sent_at=now - timedelta(hours=2),
    )
    MessageFactory(
        conversation=first_conversation,
        direction="out",
        body="Which email do you use?",
        sent_at=now - timedelta(hours=1),
    )
    first = ClassificationFactory(
        conversation=first_conversation,
        intent=taxonomy.shipping,
        sub_intent=taxonomy.status,
        confidence=0.58,
        rationale="Mentions an order, so probably a shipping question.",
        classified_at=now - timedelta(hours=2),
    )
    ClassificationFactory(intent=taxonomy.account, classified_at=now - timedelta(hours=3))  # filtered out
    second = ClassificationFactory(intent=taxonomy.shipping, classified_at=now - timedelta(hours=1))

    log_in(page, live_server, "maya", reverse("classification:queue"))
    assert page.get_by_role("heading", name="Triage queue").is_visible()

    page.get_by_label("Intent").select_option("shipping_issue")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"intent=shipping_issue"))
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    rows.first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/triage/{first.pk}/\?intent=shipping_issue"))

    transcript = page.locator(".transcript-list")
    assert transcript.locator(".msg-in").inner_text().startswith("Customer")
    assert transcript.locator(".msg-out").inner_text().startswith("Team reply")
    if path := os.environ.get("TRIAGE_SCREENSHOT"):  # for a look at the page while working on it
        page.screenshot(path=path, full_page=True)

    sub = page.get_by_label("Sub-intent")
    assert sub.locator("option").all_inner_texts() == ["No sub-intent", "Where is my order", "Parcel missing"]
    page.get_by_label("Intent", exact=True).select_option(label="Account access")
    # Only the chosen intent's sub-intents are offered now.
    assert sub.locator("option").all_inner_texts() == [
        "No sub-intent",
        "Recover password",
        "Reset two-factor",
    ]
    assert sub.input_value() == ""
    sub.select_option(label="Recover password")
    page.get_by_label("Note for the team").fill("Locked out, not a parcel question.")
    page.get_by_role("button", name="Save and open next").click()

    page.wait_for_url(re.compile(rf"/triage/{second.pk}/\?intent=shipping_issue"))
    assert "corrected as Account access / Recover password" in page.locator(".messages").inner_text()
    review = TriageReview.objects.get(classification=first)
    assert (review.intent, review.sub_intent, review.agreed) == (taxonomy.account, taxonomy.password, False)
    assert review.reviewer == reviewer and review.note == "Locked out, not a parcel question."


def test_a_user_without_the_permission_gets_the_403_page(page, live_server, taxonomy, outsider):
    log_in(page, live_server, "ava", reverse("classification:queue"))
    assert page.get_by_role("heading", name="You do not have access to triage").is_visible()
    response = page.goto(f"{live_server.url}{reverse('classification:quality')}")
    assert response.status == 403
    assert page.get_by_role("button", name="Log out").is_visible()
