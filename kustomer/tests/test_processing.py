"""Event processing: the mirror, stale updates, loop filters, dispatch points, failures."""

import copy
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kustomer import signals
from kustomer.models import Conversation, ConversationDispatch, Customer, Message, WebhookEvent
from kustomer.services import machine_user_forget, machine_user_id, webhook_event_process
from kustomer.tasks import webhook_event_process as webhook_event_task

from .factories import WebhookEventFactory
from .helpers import post_webhook

FIXTURES = Path(__file__).parent / "fixtures"
CONVERSATION_ID = "6650c2b3c4d5e6f702b3d001"
CUSTOMER_ID = "6650c1a2b3d4e5f601a2c001"

pytestmark = pytest.mark.django_db


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def variant(fixture_name: str, event_id: str, **attributes) -> dict:
    """A fixture with a new event id and some attributes replaced."""
    payload = copy.deepcopy(fixture(fixture_name))
    payload["id"] = event_id
    payload["data"]["attributes"].update(attributes)
    return payload


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Post a signed webhook and run what it enqueued (tasks run inline in tests)."""
    client = Client()

    def _deliver(payload: dict) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, payload)
        assert response.status_code == 200, response.content
        return WebhookEvent.objects.get(org=payload.get("org", ""), event_id=payload["id"])

    return _deliver


@pytest.fixture
def fired():
    """Records every dispatch-point signal sent during the test."""
    calls: list[tuple[str, str, int]] = []

    def on_classify(sender, conversation, occurrence, event, **kwargs):
        calls.append(("needs_classification", conversation.kustomer_id, occurrence))

    def on_resolved(sender, conversation, occurrence, event, **kwargs):
        calls.append(("resolved", conversation.kustomer_id, occurrence))

    signals.conversation_needs_classification.connect(on_classify)
    signals.conversation_resolved.connect(on_resolved)
    yield calls
    signals.conversation_needs_classification.disconnect(on_classify)
    signals.conversation_resolved.disconnect(on_resolved)


class TestMirror:
    def test_customer_create_fills_the_customer(self, deliver):
        event = deliver(fixture("customer_create"))
        assert event.status == WebhookEvent.Status.PROCESSED
        customer = Customer.objects.get(kustomer_id=CUSTOMER_ID)
        payload = fixture("customer_create")["data"]["attributes"]
        assert customer.name == payload["name"]
        assert customer.emails == [e["email"].lower() for e in payload["emails"]]

    def test_conversation_create_fills_the_conversation_and_links_the_customer(self, deliver, fired):
        deliver(fixture("conversation_create"))
        conversation = Conversation.objects.get(kustomer_id=CONVERSATION_ID)
        attributes = fixture("conversation_create")["data"]["attributes"]
        assert conversation.status == "open"
        assert conversation.name == attributes["name"]
        assert conversation.channels == attributes["channels"]
        assert conversation.rev == attributes["rev"]
        assert conversation.customer.kustomer_id == CUSTOMER_ID
        assert fired == []

    def test_inbound_message_is_mirrored_and_asks_for_classification_once(self, deliver, fired):
        deliver(fixture("conversation_create"))
        event = deliver(fixture("message_create_inbound"))
        assert event.status == WebhookEvent.Status.PROCESSED
        message = Message.objects.get()
        assert message.direction == "in"
        assert message.body
        assert message.conversation.kustomer_id == CONVERSATION_ID
        assert message.customer.kustomer_id == CUSTOMER_ID  # relationship type "customers" is read too
        second = variant("message_create_inbound", "evt-second-inbound")
        second["data"]["id"] = "6650c3c4d5e6f70803c4e999"
        deliver(second)
        assert Message.objects.count() == 2
        assert fired == [("needs_classification", CONVERSATION_ID, 1)]
        assert ConversationDispatch.objects.filter(kind="needs_classification").count() == 1

    def test_message_before_its_conversation_still_works(self, deliver, fired):
        deliver(fixture("message_create_inbound"))
        deliver(fixture("conversation_create"))
        conversation = Conversation.objects.get(kustomer_id=CONVERSATION_ID)
        assert conversation.messages.count() == 1
        assert conversation.status == "open"
        assert fired == [("needs_classification", CONVERSATION_ID, 1)]

    def test_message_update_changes_the_stored_message(self, deliver):
        deliver(fixture("message_create_inbound"))
        deliver(fixture("message_update"))
        message = Message.objects.get(kustomer_id=fixture("message_update")["data"]["id"])
        update = fixture("message_update")["data"]["attributes"]
        assert message.rev == update["rev"]

    def test_missing_and_odd_optional_fields_are_tolerated(self, deliver):
        payload = {
            "id": "evt-minimal",
            "name": "kustomer.conversation.create",
            "data": {
                "type": "conversation",
                "id": "conv-minimal",
                "attributes": {
                    "channels": "email",
                    "priority": "urgent",
                    "custom": ["x"],
                    "createdAt": "yesterday",
                    "assignedTeams": None,
                    "unknownField": {"deep": [1, 2]},
                },
            },
            "somethingNew": True,
        }
        event = deliver(payload)
        assert event.status == WebhookEvent.Status.PROCESSED
        conversation = Conversation.objects.get(kustomer_id="conv-minimal")
        assert (conversation.channels, conversation.priority, conversation.custom) == ([], None, {})
        assert conversation.kustomer_created_at is None


class TestStaleUpdates:
    def test_an_older_rev_is_ignored_and_the_newer_data_kept(self, deliver):
        deliver(variant("conversation_create", "evt-rev5", rev=5, name="Newest subject"))
        event = deliver(variant("conversation_create", "evt-rev3", rev=3, name="Older subject"))
        assert event.status == WebhookEvent.Status.IGNORED
        assert "stale" in event.reason
        assert Conversation.objects.get().name == "Newest subject"

    def test_without_rev_updated_at_decides(self, deliver):
        newer = variant("conversation_create", "evt-new", name="Newer", updatedAt="2025-06-02T15:00:00Z")
        older = variant("conversation_create", "evt-old", name="Older", updatedAt="2025-06-02T14:00:00Z")
        for payload in (newer, older):
            del payload["data"]["attributes"]["rev"]
        deliver(newer)
        assert deliver(older).status == WebhookEvent.Status.IGNORED
        assert Conversation.objects.get().name == "Newer"


class TestLoopFilters:
    def test_outbound_message_is_mirrored_but_triggers_nothing(self, deliver, fired):
        event = deliver(fixture("message_create_outbound"))
        assert event.status == WebhookEvent.Status.IGNORED
        assert "outbound" in event.reason
        assert Message.objects.get().direction == "out"
        assert fired == []

    def test_changes_by_our_machine_user_are_ignored(self, deliver):
        payload = fixture("conversation_update_own_custom")
        event = deliver(payload)
        assert event.status == WebhookEvent.Status.IGNORED
        assert "own API user" in event.reason
        assert not Conversation.objects.exists()

    def test_update_touching_only_our_custom_attributes_is_ignored(self, deliver):
        payload = fixture("conversation_update_own_custom")
        payload["data"]["relationships"]["modifiedBy"]["data"]["id"] = "some-workflow-user"
        event = deliver(payload)
        assert event.status == WebhookEvent.Status.IGNORED
        assert event.reason == "only BearScope's own custom attributes changed"

    def test_our_own_echo_is_ignored_at_intake_without_a_task(self, django_capture_on_commit_callbacks):
        payload = fixture("conversation_update_own_custom")
        with django_capture_on_commit_callbacks() as callbacks:
            response = post_webhook(Client(), payload)
        assert response.status_code == 200
        assert callbacks == []  # nothing queued: the echo of a write-back costs no worker time
        event = WebhookEvent.objects.get()
        assert event.status == WebhookEvent.Status.IGNORED
        assert "own API user" in event.reason

    def test_update_touching_our_and_other_attributes_is_processed(self, deliver):
        payload = fixture("conversation_update_own_custom")
        payload["data"]["relationships"]["modifiedBy"]["data"]["id"] = "some-agent"
        payload["changes"]["attributes"]["status"] = {"op": "replace", "before": "snoozed", "after": "open"}
        assert deliver(payload).status == WebhookEvent.Status.PROCESSED

    def test_machine_user_is_discovered_once_from_kustomer(self, settings, kustomer_sandbox):
        settings.KUSTOMER_MACHINE_USER_ID = ""
        machine_user_forget()
        before = kustomer_sandbox.stats()["total"]
        assert machine_user_id() == "machine-user-0001"
        assert machine_user_id() == "machine-user-0001"
        assert kustomer_sandbox.stats()["total"] == before + 1


class TestResolved:
    def test_done_fires_resolved_once_per_occurrence(self, deliver, fired):
        deliver(fixture("conversation_create"))
        deliver(fixture("conversation_update_status_done"))
        repeat = copy.deepcopy(fixture("conversation_update_status_done"))
        repeat["id"] = "evt-done-again"  # Kustomer re-sends the same state under a new event id
        deliver(repeat)
        assert fired == [("resolved", CONVERSATION_ID, 1)]
        deliver(variant("conversation_update_status_done", "evt-reopen", status="open", rev=6))
        deliver(variant("conversation_update_status_done", "evt-done-2", status="done", rev=7))
        assert fired == [("resolved", CONVERSATION_ID, 1), ("resolved", CONVERSATION_ID, 2)]
        assert Conversation.objects.get().resolved_count == 2

    def test_processing_the_same_event_twice_changes_nothing(self, deliver, fired):
        deliver(fixture("conversation_create"))
        event = deliver(fixture("conversation_update_status_done"))
        webhook_event_process(event_pk=event.pk)
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)
        webhook_event_process(event_pk=event.pk)  # as if the queue delivered it again mid-flight
        assert fired == [("resolved", CONVERSATION_ID, 1)]
        assert ConversationDispatch.objects.filter(kind="resolved").count() == 1


class TestFailures:
    def test_a_failing_event_is_recorded_retried_then_left_failed(self, settings):
        settings.KUSTOMER_EVENT_MAX_ATTEMPTS = 2
        event = WebhookEventFactory(body="{truncated", name="kustomer.conversation.update")
        with pytest.raises(Exception, match="Expecting property name"):
            webhook_event_task(event.pk)  # attempts remain: re-raised so the queue retries
        event.refresh_from_db()
        assert (event.status, event.attempts) == (WebhookEvent.Status.FAILED, 1)
        assert "JSONDecodeError" in event.error
        assert webhook_event_task(event.pk) == "failed"  # out of attempts: no more retries
        event.refresh_from_db()
        assert event.attempts == 2

    def test_missing_event_is_not_retried(self):
        assert webhook_event_task(987654) == "missing"

    def test_admin_reprocess_action_runs_the_event_again(self, django_capture_on_commit_callbacks):
        payload = fixture("customer_create")
        event = WebhookEventFactory(
            org=payload["org"],
            event_id=payload["id"],
            name=payload["name"],
            body=json.dumps(payload),
            status=WebhookEvent.Status.FAILED,
            attempts=5,
            error="boom",
        )
        admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
        client = Client()
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/admin/kustomer/webhookevent/",
                {"action": "reprocess", "_selected_action": [event.pk]},
                follow=True,
            )
        assert response.status_code == 200
        assert "1 event(s) queued" in response.content.decode()
        event.refresh_from_db()
        assert (event.status, event.attempts, event.error) == (WebhookEvent.Status.PROCESSED, 1, "")
        assert Customer.objects.filter(kustomer_id=CUSTOMER_ID).exists()
