"""The Kustomer sandbox itself, over real HTTP: fixtures, auth, pagination, writes, faults and budgets."""

import threading
import time
from datetime import UTC, datetime, timedelta

import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import (
    AMBIGUOUS_CUSTOMER_ID,
    CONVERSATION_ID,
    CUSTOMER_ID,
    FIXTURES_DIR,
    MISMATCH_ORDER_NUMBER,
    ORDER_NUMBER,
    SANDBOX_API_KEY,
    fixture_bytes,
    load_fixture,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
ABCD_CONVERSATION_ID = "6650c2b3c4d5e6f702b3d00f"  # a long multi-turn sample
SECRET = "sandbox-test-secret"  # the control subscription's HMAC key in the other sandbox tests


def api(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, sandbox.url(path), headers=AUTH, timeout=10, **kwargs)


def control(sandbox, method: str, path: str, json_body=None) -> dict:
    response = requests.request(method, sandbox.url(f"/_sandbox/{path}"), json=json_body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def now_iso(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).isoformat().replace("+00:00", "Z")


class TestFixtures:
    def test_every_event_type_has_a_chained_real_shaped_fixture(self):
        names = {path.stem for path in FIXTURES_DIR.glob("*.json")}
        assert {
            "conversation_create",
            "conversation_update_status_done",
            "conversation_update_own_custom",
            "message_create_inbound",
            "message_create_outbound",
            "message_update",
            "customer_create",
            "customer_update",
            "user_update",
        } <= names
        for name in names:
            event = load_fixture(name)
            assert {"id", "name", "org", "partition", "data", "changes", "createdAt", "dataId"} <= set(event)
            assert event["dataId"] == event["data"]["id"]
            assert len(event["id"]) == 24 and int(event["id"], 16) >= 0
            if name.endswith("_create") or "_create_" in name:
                assert event["changes"] is None, name
            else:
                assert event["changes"]["attributes"], name
            customer = event["data"]["relationships"].get("customer")
            if customer:
                assert customer["data"]["id"] == CUSTOMER_ID
        assert (
            load_fixture("message_create_inbound")["data"]["relationships"]["customer"]["data"]["type"]
            == "customers"
        )
        own = load_fixture("conversation_update_own_custom")
        assert set(own["changes"]["attributes"]) == {"custom"}
        assert own["data"]["relationships"]["modifiedBy"]["data"]["id"] == "machine-user-0001"
        assert (
            fixture_bytes("conversation_create") == (FIXTURES_DIR / "conversation_create.json").read_bytes()
        )

    def test_fixture_conversation_is_a_seeded_conversation(self, kustomer_sandbox):
        event = load_fixture("message_create_inbound")
        assert event["data"]["relationships"]["conversation"]["data"]["id"] == CONVERSATION_ID
        response = api(kustomer_sandbox, "GET", f"/v1/conversations/{CONVERSATION_ID}/messages")
        assert response.json()["data"][0]["id"] == event["data"]["id"]


class TestAuth:
    def test_missing_or_wrong_key_is_401_with_limit_headers(self, kustomer_sandbox):
        url = kustomer_sandbox.url("/v1/users/current")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "}):
            response = requests.get(url, headers=headers, timeout=10)
            assert response.status_code == 401
            assert response.json() == {
                "errors": [
                    {
                        "status": 401,
                        "code": "unauthorized",
                        "title": "Unauthorized",
                        "detail": "Invalid or expired token",
                    }
                ]
            }
            assert "x-ratelimit-limit" in response.headers
        response = api(kustomer_sandbox, "GET", "/v1/users/current")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["data"]["id"] == "machine-user-0001"

    def test_without_a_configured_key_any_key_is_accepted(self):
        with SandboxServer(machine_user_id="bot-7") as server:
            response = requests.get(
                server.url("/v1/users/current"), headers={"Authorization": "Bearer x"}, timeout=5
            )
            assert response.json()["data"]["id"] == "bot-7"
            assert requests.get(server.url("/v1/users/current"), timeout=5).status_code == 401


class TestReads:
    def test_pagination_follows_relative_next_links_oldest_first(self, kustomer_sandbox):
        raw = control(kustomer_sandbox, "GET", f"state/conversations/{ABCD_CONVERSATION_ID}")
        path, seen, pages = f"/v1/conversations/{ABCD_CONVERSATION_ID}/messages?pageSize=7", [], 0
        while path:
            assert path.startswith("/v1/")
            body = api(kustomer_sandbox, "GET", path).json()
            seen += body["data"]
            pages += 1
            assert body["meta"]["page"] == pages and body["meta"]["pageSize"] == 7
            path = body["links"]["next"]
        assert [m["id"] for m in seen] == [m["id"] for m in raw["messages"]]
        assert len(seen) > 14 and pages == body["meta"]["totalPages"]
        assert [m["attributes"]["sentAt"] for m in seen] == sorted(m["attributes"]["sentAt"] for m in seen)
        assert body["links"]["prev"] is not None
        too_big = api(
            kustomer_sandbox, "GET", f"/v1/conversations/{ABCD_CONVERSATION_ID}/messages?pageSize=101"
        )
        assert too_big.status_code == 400

    def test_not_found_uses_the_legacy_error_shape(self, kustomer_sandbox):
        response = api(kustomer_sandbox, "GET", "/v1/conversations/000000000000000000000000")
        assert response.status_code == 404
        assert response.json() == {
            "errors": [{"code": "not_found", "message": "Conversation not found", "meta": {}}]
        }

    def test_customer_orders_and_lookup_by_external_id(self, kustomer_sandbox):
        customer = api(kustomer_sandbox, "GET", f"/v1/customers/{CUSTOMER_ID}").json()["data"]
        assert customer["attributes"]["emails"][0]["email"] == "maya.patel@example.com"
        orders = api(
            kustomer_sandbox, "GET", f"/v1/customers/{AMBIGUOUS_CUSTOMER_ID}/klasses/order?pageSize=1"
        ).json()
        assert (
            orders["links"]["next"]
            == f"/v1/customers/{AMBIGUOUS_CUSTOMER_ID}/klasses/order?page=2&pageSize=1"
        )
        order = api(kustomer_sandbox, "GET", f"/v1/klasses/order/externalId={ORDER_NUMBER}").json()["data"]
        assert order["relationships"]["customer"]["data"]["id"] == CUSTOMER_ID
        assert set(order["attributes"]["custom"]) >= {
            "statusStr",
            "carrierStr",
            "trackingUrl",
            "estimatedDeliveryAt",
            "emailStr",
        }
        mismatch = api(
            kustomer_sandbox, "GET", f"/v1/klasses/order/externalId={MISMATCH_ORDER_NUMBER}"
        ).json()["data"]
        owner = api(
            kustomer_sandbox, "GET", f"/v1/customers/{mismatch['relationships']['customer']['data']['id']}"
        )
        assert (
            mismatch["attributes"]["custom"]["emailStr"]
            != owner.json()["data"]["attributes"]["emails"][0]["email"]
        )
        assert api(kustomer_sandbox, "GET", "/v1/klasses/order/externalId=BS-000000").status_code == 404

    def test_concurrent_requests_are_all_answered(self, kustomer_sandbox):
        control(kustomer_sandbox, "POST", "stats/reset")
        statuses: list[int] = []

        def fetch() -> None:
            statuses.append(api(kustomer_sandbox, "GET", f"/v1/conversations/{CONVERSATION_ID}").status_code)

        threads = [threading.Thread(target=fetch) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 24
        assert kustomer_sandbox.stats()["total"] == 24


class TestWrites:
    def test_patch_merges_custom_and_rejects_bad_attributes(self, kustomer_sandbox):
        path = f"/v1/conversations/{CONVERSATION_ID}"
        api(
            kustomer_sandbox,
            "PATCH",
            path,
            json={"custom": {"aiIntentStr": "shipping_status", "oldStr": "x"}},
        )
        response = api(
            kustomer_sandbox, "PATCH", path, json={"custom": {"aiConfidenceNum": 0.93, "oldStr": None}}
        )
        conversation = response.json()["data"]
        assert conversation["attributes"]["custom"] == {
            "aiIntentStr": "shipping_status",
            "aiConfidenceNum": 0.93,
        }
        assert conversation["attributes"]["rev"] == 3
        assert conversation["relationships"]["modifiedBy"]["data"]["id"] == "machine-user-0001"
        bad = api(kustomer_sandbox, "PATCH", path, json={"custom": {"aiIntent": "no suffix"}})
        assert bad.status_code == 400
        error = bad.json()["errors"][0]
        assert (error["status"], error["code"], error["source"]["pointer"]) == (
            400,
            "invalid_attribute",
            "/custom/aiIntent",
        )
        assert (
            api(kustomer_sandbox, "PATCH", path, json={"custom": {"aiRationaleStr": "x" * 1025}}).status_code
            == 400
        )
        assert api(kustomer_sandbox, "PATCH", path, json={"priority": 9}).status_code == 400
        assert api(kustomer_sandbox, "GET", path).json()["data"]["attributes"]["rev"] == 3

    def test_draft_is_staged_then_sent_as_an_out_message(self, kustomer_sandbox):
        body = {
            "channel": "email",
            "conversation": CONVERSATION_ID,
            "body": "Your order is on its way.",
            "to": "maya.patel@example.com",
            "from": "support@bearscope-demo.example",
            "subject": "Re: order",
        }
        created = api(kustomer_sandbox, "POST", f"/v1/customers/{CUSTOMER_ID}/drafts", json=body)
        assert created.status_code == 201
        draft = created.json()["data"]
        assert (draft["type"], draft["attributes"]["status"]) == ("draft", "draft")
        drafts_path = f"/v1/conversations/{CONVERSATION_ID}/drafts"
        assert [d["id"] for d in api(kustomer_sandbox, "GET", drafts_path).json()["data"]] == [draft["id"]]
        assert (
            control(kustomer_sandbox, "GET", f"state/conversations/{CONVERSATION_ID}")["messages"][-1][
                "attributes"
            ]["direction"]
            == "in"
        ), "staging a draft must not send it"

        sent = api(kustomer_sandbox, "PUT", f"/v1/drafts/{draft['id']}", json={"sendAt": now_iso()})
        assert sent.status_code == 200
        assert api(kustomer_sandbox, "GET", drafts_path).json()["data"] == []
        message = api(kustomer_sandbox, "GET", f"/v1/conversations/{CONVERSATION_ID}/messages").json()[
            "data"
        ][-1]
        assert message["attributes"]["direction"] == "out"
        assert message["attributes"]["meta"]["draftId"] == draft["id"]
        assert message["relationships"]["createdBy"]["data"]["id"] == "machine-user-0001"
        assert (
            api(kustomer_sandbox, "PUT", f"/v1/drafts/{draft['id']}", json={"sendAt": now_iso()}).status_code
            == 404
        )

    def test_send_at_without_scheduled_sends_at_once_and_scheduled_waits(self, kustomer_sandbox):
        path = f"/v1/customers/{CUSTOMER_ID}/drafts"
        base = {"channel": "email", "conversation": CONVERSATION_ID, "body": "Hello"}
        at_once = api(kustomer_sandbox, "POST", path, json={**base, "sendAt": now_iso()}).json()["data"]
        later = api(
            kustomer_sandbox,
            "POST",
            path,
            json={**base, "sendAt": now_iso(timedelta(hours=2)), "scheduled": True},
        ).json()["data"]
        assert at_once["attributes"]["status"] == "sent"
        raw = control(kustomer_sandbox, "GET", f"state/conversations/{CONVERSATION_ID}")
        assert [d["id"] for d in raw["drafts"]] == [later["id"]]
        assert raw["messages"][-1]["attributes"]["meta"]["draftId"] == at_once["id"]

    def test_notes_and_the_per_customer_create_limit(self, kustomer_sandbox):
        path = f"/v1/conversations/{CONVERSATION_ID}/notes"
        created = api(kustomer_sandbox, "POST", path, json={"body": "classified"})
        assert created.status_code == 201 and created.json()["data"]["type"] == "note"
        session = requests.Session()
        statuses = [
            session.post(kustomer_sandbox.url(path), json={"body": "n"}, headers=AUTH, timeout=10).status_code
            for _ in range(120)
        ]
        assert statuses.count(201) == 119 and statuses[-1] == 429
        assert len(api(kustomer_sandbox, "GET", path + "?pageSize=100").json()["data"]) == 100


class TestFaultsAndBudgets:
    def test_fault_queue_answers_then_lets_requests_through(self, kustomer_sandbox):
        control(
            kustomer_sandbox,
            "POST",
            "faults",
            {"status": 429, "count": 2, "path": "^/v1/conversations/", "retry_after": 0, "reset": 7},
        )
        control(
            kustomer_sandbox,
            "POST",
            "faults",
            [{"status": 503, "count": 1, "body_shape": "legacy", "method": "GET"}],
        )
        path = f"/v1/conversations/{CONVERSATION_ID}"
        for _ in range(2):
            limited = api(kustomer_sandbox, "GET", path)
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "0"
            assert limited.headers["x-ratelimit-reset"] == "7"
            assert limited.headers["x-ratelimit-remaining"] == "0"
            assert limited.json()["errors"][0]["status"] == 429
        unavailable = api(kustomer_sandbox, "GET", path)
        assert unavailable.status_code == 503 and "message" in unavailable.json()["errors"][0]
        assert api(kustomer_sandbox, "GET", path).status_code == 200
        assert control(kustomer_sandbox, "GET", "faults")["faults"] == []
        assert kustomer_sandbox.stats()["statuses"] == {"429": 2, "503": 1, "200": 1}

    def test_org_budget_is_enforced_per_minute_with_headers(self):
        with SandboxServer(rate_limit=3, retry_after=True, reset_epoch=True) as server:
            answers = [
                requests.get(server.url("/v1/users/current"), headers=AUTH, timeout=5) for _ in range(4)
            ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert int(answers[-1].headers["x-ratelimit-reset"]) > 10**9
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60

    def test_stats_count_requests_per_minute_and_route(self, kustomer_sandbox):
        control(kustomer_sandbox, "POST", "stats/reset")
        first_minute = int(time.time() // 60)
        for _ in range(3):
            api(kustomer_sandbox, "GET", f"/v1/conversations/{CONVERSATION_ID}")
        requests.get(kustomer_sandbox.url("/v1/users/current"), timeout=10)
        api(kustomer_sandbox, "PATCH", f"/v1/conversations/{CONVERSATION_ID}", json={"custom": {"aStr": "x"}})
        stats = control(kustomer_sandbox, "GET", "stats")
        assert stats["total"] == 5
        assert sum(stats["by_minute"].values()) == 5
        assert sum(stats["by_second"].values()) == 5
        assert all(first_minute <= int(minute) <= first_minute + 1 for minute in stats["by_minute"])
        assert stats["by_route"] == {
            "GET /v1/conversations/{id}": 3,
            "GET /v1/users/current": 1,
            "PATCH /v1/conversations/{id}": 1,
        }
        assert stats["writes_by_path"] == {f"PATCH /v1/conversations/{CONVERSATION_ID}": 1}
        assert stats["statuses"] == {"200": 4, "401": 1}

    def test_latency_setting_slows_answers(self, kustomer_sandbox):
        control(kustomer_sandbox, "POST", "config", {"latency_ms": 150})
        started = time.monotonic()
        api(kustomer_sandbox, "GET", "/v1/users/current")
        assert time.monotonic() - started >= 0.15
        control(kustomer_sandbox, "POST", "reset")
        assert control(kustomer_sandbox, "GET", "config")["latency_ms"] == 0
