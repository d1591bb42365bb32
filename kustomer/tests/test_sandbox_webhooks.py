"""The sandbox's webhooks over real HTTP: signing, our own echoes, scenarios, drafts, the sample replay."""

import hashlib
import hmac
import json

import pytest

from kustomer.sandbox.webhooks import build_event, sign
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, CUSTOMER_ID, FIXTURES_DIR
from kustomer.tests.test_sandbox import SECRET, api, control, now_iso


class TestWebhooks:
    def test_sign_and_build_event(self):
        assert sign(b"{}", "k") == hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
        event = build_event(
            "kustomer.customer.create", {"type": "customer", "id": "c1", "attributes": {}}, org="org-1"
        )
        assert (event["name"], event["org"], event["dataId"], event["changes"]) == (
            "kustomer.customer.create",
            "org-1",
            "c1",
            None,
        )

    def test_our_own_patch_echoes_back_signed(self, kustomer_sandbox, webhook_receiver):
        control(kustomer_sandbox, "POST", "webhooks", {"url": webhook_receiver.url, "secret": SECRET})
        api(
            kustomer_sandbox,
            "PATCH",
            f"/v1/conversations/{CONVERSATION_ID}",
            json={"custom": {"aiIntentStr": "x"}},
        )
        (delivery,) = webhook_receiver.wait_for(1)
        headers = {key.lower(): value for key, value in delivery["headers"].items()}
        assert (
            headers["x-kustomer-webhook-signature"]
            == hmac.new(SECRET.encode(), delivery["body"], hashlib.sha256).hexdigest()
        )
        assert headers["x-kustomer-webhook-event"] == "kustomer.conversation.update"
        assert headers["user-agent"] == "Kustomer-Sandbox/1.0"
        event = delivery["json"]
        assert event["changes"]["attributes"]["custom"] == {
            "op": "replace",
            "before": {},
            "after": {"aiIntentStr": "x"},
        }
        assert event["meta"]["customChanged"] is True
        assert event["data"]["relationships"]["modifiedBy"]["data"]["id"] == "machine-user-0001"

    def test_scenarios_deliver_in_order(self, kustomer_sandbox, webhook_receiver):
        control(
            kustomer_sandbox,
            "POST",
            "webhooks",
            {"url": webhook_receiver.url, "secret": SECRET, "org": "o-9"},
        )
        created = control(
            kustomer_sandbox,
            "POST",
            "scenarios/new-conversation",
            {"customer_id": CUSTOMER_ID, "text": "Where is BS-100234?", "subject": "WISMO"},
        )
        conversation_id = created["conversation_id"]
        control(
            kustomer_sandbox,
            "POST",
            "scenarios/customer-message",
            {"conversation_id": conversation_id, "text": "Any news?"},
        )
        resolved = control(
            kustomer_sandbox, "POST", "scenarios/resolve", {"conversation_id": conversation_id}
        )
        events = [d["json"] for d in webhook_receiver.wait_for(4)]
        assert [e["name"] for e in events] == [
            "kustomer.conversation.create",
            "kustomer.message.create",
            "kustomer.message.create",
            "kustomer.conversation.update",
        ]
        assert [e["id"] for e in events[:2]] == created["event_ids"]
        assert [d["status_code"] for d in created["deliveries"]] == [200, 200]
        assert {e["org"] for e in events} == {"o-9"}
        assert events[1]["data"]["attributes"]["direction"] == "in"
        assert events[3]["changes"]["attributes"]["status"] == {
            "op": "replace",
            "before": "open",
            "after": "done",
        }
        assert (
            events[3]["data"]["attributes"]["rev"] == resolved["rev"] > events[0]["data"]["attributes"]["rev"]
        )

    def test_undelivered_scenario_answers_with_its_events(self, kustomer_sandbox, webhook_receiver):
        control(kustomer_sandbox, "POST", "webhooks", {"url": webhook_receiver.url, "secret": SECRET})
        created = control(
            kustomer_sandbox,
            "POST",
            "scenarios/new-conversation",
            {"customer_id": CUSTOMER_ID, "text": "Where is BS-100234?", "deliver": False},
        )
        payloads = created["payloads"]
        assert [e["id"] for e in payloads] == created["event_ids"]
        assert [e["name"] for e in payloads] == ["kustomer.conversation.create", "kustomer.message.create"]
        assert payloads[0]["data"]["id"] == created["conversation_id"]
        assert payloads[1]["data"]["attributes"]["preview"].startswith("Where is BS-100234?")
        assert created["deliveries"] == [] and webhook_receiver.received == []

    def test_sent_draft_fires_message_create(self, kustomer_sandbox, webhook_receiver):
        control(kustomer_sandbox, "POST", "webhooks", {"url": webhook_receiver.url, "secret": SECRET})
        draft = api(
            kustomer_sandbox,
            "POST",
            f"/v1/customers/{CUSTOMER_ID}/drafts",
            json={"channel": "email", "conversation": CONVERSATION_ID, "body": "Hi"},
        ).json()["data"]
        api(kustomer_sandbox, "PUT", f"/v1/drafts/{draft['id']}", json={"sendAt": now_iso()})
        (delivery,) = webhook_receiver.wait_for(1)
        data = delivery["json"]["data"]
        assert (delivery["json"]["name"], data["attributes"]["direction"]) == (
            "kustomer.message.create",
            "out",
        )
        assert data["attributes"]["meta"]["draftId"] == draft["id"]

    def test_replay_delivers_every_sample_with_stable_ids(self, kustomer_sandbox, webhook_receiver):
        seed = json.loads((FIXTURES_DIR.parent.parent / "sandbox" / "seed.json").read_text())
        conversations = seed["conversations"]
        expected = (
            len({c["customer"] for c in conversations})
            + len(conversations)
            + sum(len(c["messages"]) for c in conversations)
            + sum(1 for c in conversations if c["status"] == "done")
        )
        body = {"url": webhook_receiver.url, "secret": SECRET}
        first = control(kustomer_sandbox, "POST", "replay", body)
        assert (first["delivered"], first["failed"]) == (expected, 0)
        assert first["samples"] == [
            {
                "conversation": c["id"],
                "intent": c["intent"],
                "sub_intent": c["sub_intent"],
                "expect": c["expect"],
            }
            for c in conversations
        ]
        received = [d["json"] for d in webhook_receiver.wait_for(expected)]
        assert received[0]["name"] == "kustomer.customer.create"
        assert received[1]["name"] == "kustomer.conversation.create"
        assert received[1]["data"]["attributes"]["status"] == "open"
        assert [r["event_id"] for r in first["results"]] == [e["id"] for e in received]
        assert len({e["id"] for e in received}) == expected
        again = control(kustomer_sandbox, "POST", "replay", body)
        assert [r["event_id"] for r in again["results"]] == [r["event_id"] for r in first["results"]]

    @pytest.mark.parametrize("status", [500, None])
    def test_replay_reports_a_failing_or_slow_receiver(self, kustomer_sandbox, webhook_receiver, status):
        if status:
            webhook_receiver.status = status
        else:
            webhook_receiver.delay = 0.5
        # Only the slow receiver needs a short timeout; a busy machine must not turn 500s into timeouts.
        timeout = 5 if status else 0.1
        result = control(
            kustomer_sandbox,
            "POST",
            "replay",
            {"url": webhook_receiver.url, "secret": SECRET, "timeout": timeout},
        )
        assert result["delivered"] == 0
        assert result["failed"] == len(result["results"]) > 3
        if status:
            assert {r["status_code"] for r in result["results"]} == {500}
        else:
            assert result["skipped"] == len(result["results"]) - 3
