"""A new user's first visit in a real headless Chromium: sign in, land on the home page, reach triage."""

import pytest
from django.urls import reverse

from bearscope.testing.factories import PASSWORD, UserFactory, role_group
from classification.tests.factories import ClassificationFactory

# live_server serves from another thread, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_new_user_signs_in_lands_on_home_and_reaches_the_triage_queue(page, live_server):
    user = UserFactory(username="nina", first_name="Nina", last_name="Berg")
    user.groups.add(role_group("Triage reviewers"))
    waiting = ClassificationFactory()

    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}{reverse('login')}?next=/")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    assert page.get_by_role("heading", name="Hello, Nina").is_visible()
    triage = page.locator("#home-triage")
    assert "1 conversation waiting for a reviewer" in triage.inner_text()
    # Only her role's card: no shadow replies, insights or connection.
    assert page.locator("#home-shadow, #home-insights, #home-connection").count() == 0
    triage.get_by_role("link", name="Open the triage queue").click()
    page.wait_for_url(f"{live_server.url}{reverse('classification:queue')}")
    assert page.get_by_role("heading", name="Triage queue").is_visible()
    assert page.locator(f'tr[data-item="{waiting.pk}"]').is_visible()
    # The brand leads home again.
    page.get_by_role("link", name="BearScope").click()
    page.wait_for_url(f"{live_server.url}/")
