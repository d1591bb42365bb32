"""Webhook registration through the sandbox's API (/v1/outbound-webhooks), over real HTTP."""

import hashlib
import hmac

import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID
from kustomer.tests.test_sandbox import AUTH, api, control

PATH = "/v1/outbound-webhooks"


def register(sandbox, url: str, events: list[str], **extra) -> requests.Response:
    return api(sandbox, "POST", PATH, json={"name": "BearScope", "url": url, "events": events, **extra})


class TestRegistration:
    def test_the_subscribable_events(self, kustomer_sandbox):
        events = api(kustomer_sandbox, "GET", PATH + "/events").json()["events"]
        assert len(events) == 12 == len(set(events))
        assert {"kustomer.conversation.create", "kustomer.message.update", "kustomer.team.update"} <= set(
            events
        )

    def test_a_registered_webhook_receives_its_events_signed_with_its_token(
        self, kustomer_sandbox, webhook_receiver
    ):
        created = register(
            kustomer_sandbox,
            webhook_receiver.url,
            ["kustomer.message.create"],
            headers=[{"name": "X-Source", "value": "sandbox"}],
        )
        assert created.status_code == 201
        hook = created.json()["data"]
        assert hook["type"] == "outbound_webhook"
        assert hook["attributes"]["events"] == ["kustomer.message.create"]
        token = hook["attributes"]["token"]
        assert len(token) >= 32
        listed = api(kustomer_sandbox, "GET", PATH).json()
        assert [h["id"] for h in listed["data"]] == [hook["id"]] and listed["links"]["next"] is None

        api(kustomer_sandbox, "PATCH", f"/v1/conversations/{CONVERSATION_ID}", json={"custom": {"aStr": "x"}})
        said = control(
            kustomer_sandbox,
            "POST",
            "scenarios/customer-message",
            {"conversation_id": CONVERSATION_ID, "text": "Any news?"},
        )
        assert [d["status_code"] for d in said["deliveries"]] == [200]
        (delivery,) = webhook_receiver.wait_for(1)
        headers = {key.lower(): value for key, value in delivery["headers"].items()}
        assert headers["x-kustomer-webhook-event"] == "kustomer.message.create"
        assert (
            headers["x-kustomer-webhook-signature"]
            == hmac.new(token.encode(), delivery["body"], hashlib.sha256).hexdigest()
        )
        assert headers["x-source"] == "sandbox"
        assert delivery["json"]["id"] == said["event_ids"][0]

    def test_a_deleted_webhook_receives_nothing(self, kustomer_sandbox, webhook_receiver):
        hook = register(kustomer_sandbox, webhook_receiver.url, ["kustomer.message.create"]).json()["data"]
        deleted = api(kustomer_sandbox, "DELETE", f"{PATH}/{hook['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert api(kustomer_sandbox, "GET", PATH).json()["data"] == []
        assert api(kustomer_sandbox, "DELETE", f"{PATH}/{hook['id']}").status_code == 404
        said = control(
            kustomer_sandbox,
            "POST",
            "scenarios/customer-message",
            {"conversation_id": CONVERSATION_ID, "text": "Hello?"},
        )
        assert said["deliveries"] == [] and webhook_receiver.received == []

    def test_bad_subscriptions_are_400(self, kustomer_sandbox):
        good = {
            "name": "BearScope",
            "url": "https://bearscope.example/webhooks/kustomer/",
            "events": ["kustomer.conversation.create"],
        }
        assert api(kustomer_sandbox, "POST", PATH, json=good).status_code == 201
        all_events = api(kustomer_sandbox, "GET", PATH + "/events").json()["events"]
        for change, pointer in (
            ({"url": "http://bearscope.example/webhooks/kustomer/"}, "/url"),
            ({"url": "ftp://127.0.0.1/"}, "/url"),
            ({"url": "bearscope.example"}, "/url"),
            ({"name": ""}, "/name"),
            ({"name": "x" * 256}, "/name"),
            ({"events": []}, "/events"),
            ({"events": [*all_events, "kustomer.conversation.create"]}, "/events"),
            ({"events": ["kustomer.conversation.delete"]}, "/events"),
            ({"events": ["kustomer.message.create", "kustomer.message.create"]}, "/events"),
            ({"headers": [{"name": "X-A"}]}, "/headers"),
        ):
            answer = api(kustomer_sandbox, "POST", PATH, json={**good, **change})
            assert answer.status_code == 400, change
            assert answer.json()["errors"][0]["source"]["pointer"] == pointer
        assert len(api(kustomer_sandbox, "GET", PATH).json()["data"]) == 1
        control(kustomer_sandbox, "POST", "reset")
        assert api(kustomer_sandbox, "GET", PATH).json()["data"] == []

    def test_a_key_without_the_webhook_role_is_refused(self):
        with SandboxServer(refused=["org.permission.outbound_webhook"]) as server:
            answers = [
                requests.request(method, server.url(path), headers=AUTH, json={}, timeout=5)
                for method, path in (
                    ("GET", PATH),
                    ("POST", PATH),
                    ("GET", PATH + "/events"),
                    ("DELETE", PATH + "/x"),
                )
            ]
        assert [a.status_code for a in answers] == [403] * 4
        assert answers[1].json()["errors"][0]["meta"]["roles"] == ["org.permission.outbound_webhook.create"]
