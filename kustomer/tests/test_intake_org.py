"""KUSTOMER_ORG_ID: events from another org are refused with 403 and stored nowhere (sandbox over HTTP)."""

import pytest
from django.conf import settings

from kustomer.models import Conversation, Customer, Message, WebhookEvent

from .sandbox_fixtures import CUSTOMER_ID
from .test_client import control

pytestmark = pytest.mark.django_db(transaction=True)

OURS = "org-ours-0001"


def _deliver_from(sandbox, live_server, org: str) -> list[int]:
    control(
        sandbox,
        "POST",
        "webhooks",
        {
            "url": f"{live_server.url}/webhooks/kustomer/",
            "secret": settings.KUSTOMER_WEBHOOK_SECRET,
            "org": org,
        },
    )
    created = control(
        sandbox,
        "POST",
        "scenarios/new-conversation",
        {"customer_id": CUSTOMER_ID, "text": "Where is my order?", "subject": "WISMO"},
    )
    return [delivery["status_code"] for delivery in created["deliveries"]]


def test_events_from_another_org_are_refused_and_stored_nowhere(kustomer_sandbox, live_server, settings):
    settings.KUSTOMER_ORG_ID = OURS
    assert _deliver_from(kustomer_sandbox, live_server, "org-someone-else") == [403, 403]
    assert WebhookEvent.objects.count() == 0
    assert (Conversation.objects.count(), Customer.objects.count(), Message.objects.count()) == (0, 0, 0)


def test_events_from_the_configured_org_are_accepted(kustomer_sandbox, live_server, settings):
    settings.KUSTOMER_ORG_ID = OURS
    assert _deliver_from(kustomer_sandbox, live_server, OURS) == [200, 200]
    assert set(WebhookEvent.objects.values_list("org", flat=True)) == {OURS}


def test_without_a_configured_org_any_signed_event_is_accepted(kustomer_sandbox, live_server, settings):
    settings.KUSTOMER_ORG_ID = ""
    assert _deliver_from(kustomer_sandbox, live_server, "org-any") == [200, 200]
    assert set(WebhookEvent.objects.values_list("org", flat=True)) == {"org-any"}
