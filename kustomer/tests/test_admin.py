"""The admin pages ops leaders use render, show what they promise, and keep the mirror read-only."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kustomer.models import WebhookEvent

from .factories import MessageFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


def test_webhook_events_list_filters_and_searches(admin_client):
    WebhookEventFactory(event_id="evt-findme", conversation_id="conv-42", status=WebhookEvent.Status.FAILED)
    WebhookEventFactory(event_id="evt-other")
    page = admin_client.get("/admin/kustomer/webhookevent/", {"status__exact": "failed"}).content.decode()
    assert "evt-findme" in page and "evt-other" not in page
    page = admin_client.get("/admin/kustomer/webhookevent/", {"q": "conv-42"}).content.decode()
    assert "evt-findme" in page and "evt-other" not in page


def test_webhook_event_page_pretty_prints_the_payload_read_only(admin_client):
    event = WebhookEventFactory(body=json.dumps({"id": "e", "name": "n", "data": {"nested": {"k": 1}}}))
    page = admin_client.get(f"/admin/kustomer/webhookevent/{event.pk}/change/").content.decode()
    assert "&quot;nested&quot;: {\n" in page  # indented JSON
    assert 'name="status"' not in page  # no editable field


def test_conversation_page_shows_its_messages_inline(admin_client):
    message = MessageFactory(body="Where is parcel 77?")
    page = admin_client.get(
        f"/admin/kustomer/conversation/{message.conversation.pk}/change/"
    ).content.decode()
    assert "Where is parcel 77?" in page
    assert (
        admin_client.post(f"/admin/kustomer/conversation/{message.conversation.pk}/change/", {}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/classification/intent/",
        "/admin/classification/classification/",
        "/admin/classification/classifiersettings/add/",
        "/admin/kustomer/customer/",
    ],
)
def test_admin_pages_render(admin_client, url):
    assert admin_client.get(url).status_code == 200
