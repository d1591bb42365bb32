"""The home page: anonymous visitors go to sign-in, each role sees what needs it and its pages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from autoreply.tests.factories import ShadowReplyFactory
from bearscope.testing.factories import UserFactory, role_group
from classification.tests.factories import ClassificationFactory
from intelligence.tests.factories import AnalysisFactory
from kustomer.tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

CARDS = {name: f"home-{name}" for name in ("triage", "shadow", "insights", "connection")}
ROLES = {
    # role: (group, staff, cards shown)
    "triage reviewer": ("Triage reviewers", False, {"triage"}),
    "reply reviewer": ("Reply reviewers", False, {"shadow"}),
    "ops leader": ("Ops leaders", False, {"insights"}),
    "staff without a group": (None, True, {"connection"}),
    "signed in, no group": (None, False, set()),
}


def signed_in(role: str) -> Client:
    group, staff, _ = ROLES[role]
    user = UserFactory(username=role.replace(" ", "-").replace(",", ""), is_staff=staff)
    if group:
        user.groups.add(role_group(group))
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_go_to_sign_in_and_land_on_home_after_it():
    response = Client().get("/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/"
    UserFactory(username="nora")
    client = Client()
    signed = client.post("/accounts/login/", {"username": "nora", "password": "correct-horse-battery"})
    assert signed.status_code == 302 and signed.url == "/"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_what_needs_it(role):
    response = signed_in(role).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    shown = {card for card, element_id in CARDS.items() if f'id="{element_id}"' in html}
    assert shown == ROLES[role][2]
    assert ("Your account has no role yet" in html) == (role == "signed in, no group")


def test_the_cards_count_what_waits_and_link_to_it():
    ClassificationFactory.create_batch(2)  # in triage, not reviewed
    ShadowReplyFactory()
    AnalysisFactory(resolved_at=timezone.now() - timedelta(days=2))
    ConversationFactory(kustomer_created_at=timezone.now() - timedelta(days=45))
    user = UserFactory(username="all-roles", is_staff=True)
    user.groups.add(*(role_group(name) for name in ("Triage reviewers", "Reply reviewers", "Ops leaders")))
    client = Client()
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<strong class="big-number">2</strong> conversations waiting for a reviewer' in html
    assert 'href="/triage/"' in html
    assert '<strong class="big-number">1</strong> shadow reply to grade' in html
    assert 'href="/autoreply/shadow/"' in html
    assert '<strong class="big-number">1</strong> conversation resolved and analysed in the last 7' in html
    # The dashboards open on a range holding the oldest conversation, not the default 30 days.
    oldest = (timezone.now() - timedelta(days=45)).date().isoformat()
    assert f'href="/insights/?start={oldest}"' in html
    assert "No webhook received yet." in html


def test_empty_cards_say_why_and_what_to_do(settings):
    settings.ANTHROPIC_API_KEY = ""
    settings.KUSTOMER_WEBHOOK_SECRET = ""
    user = UserFactory(username="all-roles", is_staff=True)
    user.groups.add(*(role_group(name) for name in ("Triage reviewers", "Reply reviewers", "Ops leaders")))
    client = Client()
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "Nothing is waiting for a reviewer." in html
    assert "Nothing waiting for a grade." in html
    assert "No resolved conversation has been analysed yet." in html
    assert "no ANTHROPIC_API_KEY is set" in html
    assert "KUSTOMER_WEBHOOK_SECRET is not set" in html


def test_the_admin_view_site_link_opens_the_home_page():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in html
