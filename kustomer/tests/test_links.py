"""Every conversation the review pages show links to it in Kustomer's app, when the app URL is set."""

import pytest
from django.test import Client

from autoreply.tests.factories import ShadowReplyFactory
from bearscope.testing.factories import UserFactory, role_group
from classification.tests.factories import ClassificationFactory
from kustomer.links import conversation_url

pytestmark = pytest.mark.django_db


def test_the_url_is_built_from_the_app_url_and_empty_without_it(settings):
    settings.KUSTOMER_APP_URL = "https://acme.kustomerapp.com/"
    assert conversation_url("6650c2b3c4d5e6f702b3d001") == (
        "https://acme.kustomerapp.com/app/conversations/6650c2b3c4d5e6f702b3d001"
    )
    assert conversation_url("") == ""
    settings.KUSTOMER_APP_URL = ""
    assert conversation_url("6650c2b3c4d5e6f702b3d001") == ""


def test_triage_and_shadow_pages_link_each_conversation_to_kustomer(settings):
    settings.KUSTOMER_APP_URL = "https://acme.kustomerapp.com"
    waiting = ClassificationFactory()
    reply = ShadowReplyFactory()
    user = UserFactory(username="both")
    user.groups.add(role_group("Triage reviewers"), role_group("Reply reviewers"))
    client = Client()
    client.force_login(user)
    pages = {
        "/triage/": waiting.conversation,
        f"/triage/{waiting.pk}/": waiting.conversation,
        "/autoreply/shadow/": reply.conversation,
        f"/autoreply/shadow/{reply.pk}/": reply.conversation,
    }
    for url, conversation in pages.items():
        html = client.get(url).content.decode()
        link = f'href="https://acme.kustomerapp.com/app/conversations/{conversation.kustomer_id}"'
        assert link in html, url
        assert 'rel="noopener noreferrer"' in html
    assert 'tabindex="0" role="region"' in client.get("/triage/").content.decode()


def test_empty_review_pages_say_why(settings):
    user = UserFactory(username="both")
    user.groups.add(role_group("Triage reviewers"), role_group("Reply reviewers"))
    client = Client()
    client.force_login(user)
    assert "below the auto-route threshold" in client.get("/triage/").content.decode()
    shadow = client.get("/autoreply/shadow/").content.decode()
    assert "No intent has an auto-reply policy yet, so no reply is ever prepared" in shadow
    assert "A shadow reply is recorded when" in shadow
