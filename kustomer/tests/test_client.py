"""The Kustomer client against the sandbox over real HTTP: errors, retries, budget, pagination."""

import threading
import time

import pytest
import requests
from django.db import connections

from kustomer.client import KustomerClient, client_get, ratelimit_reset_seconds
from kustomer.exceptions import (
    KustomerAuthError,
    KustomerBadRequest,
    KustomerBudgetExhausted,
    KustomerConnectionError,
    KustomerNotFound,
    KustomerServerError,
    KustomerUnknownOutcome,
)
from kustomer.models import RateWindow
from kustomer.payloads import message_body_text
from kustomer.ratelimit import DatabaseBudget, RateBudget, RedisBudget

from .sandbox_fixtures import CUSTOMER_ID as CUSTOMER

pytestmark = pytest.mark.django_db


def control(sandbox, method: str, path: str, json=None) -> dict:
    response = requests.request(method, f"{sandbox.base_url}/_sandbox/{path}", json=json, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else {}


def requests_seen(sandbox) -> int:
    return control(sandbox, "GET", "stats")["total"]


@pytest.fixture
def seeded(kustomer_sandbox) -> dict:
    """Ids of a seeded conversation, its customer and one of the customer's orders."""
    created = control(
        kustomer_sandbox,
        "POST",
        "scenarios/new-conversation",
        {"customer_id": CUSTOMER, "text": "Where is my order?", "deliver": False},
    )
    return {"conversation": created["conversation_id"], "customer": CUSTOMER}


def client_for(
    sandbox, *, limit: int = 1000, max_wait: float = 2.0, api_key: str = "test-api-key"
) -> KustomerClient:
    budget = RateBudget(DatabaseBudget(), limit=limit, max_wait=max_wait)
    return KustomerClient(
        base_url=sandbox.base_url,
        api_key=api_key,
        budget=budget,
        max_retries=3,
        backoff_base=0.05,
        max_wait=max_wait,
        timeout=(1, 5),
    )


class TestCalls:
    def test_conversation_get_and_custom_update_merge(self, kustomer_sandbox, seeded):
        client = client_get()
        conversation = client.conversation_get(seeded["conversation"])
        assert conversation["id"] == seeded["conversation"]
        client.conversation_custom_update(seeded["conversation"], {"aiIntentStr": "order_status"})
        updated = client.conversation_custom_update(seeded["conversation"], {"aiConfidenceNum": 0.97})
        assert updated["attributes"]["custom"]["aiIntentStr"] == "order_status"
        assert updated["attributes"]["custom"]["aiConfidenceNum"] == 0.97

    def test_customer_and_orders(self, kustomer_sandbox):
        client = client_get()
        assert client.customer_get(CUSTOMER)["id"] == CUSTOMER
        orders = list(client.customer_kobjects(CUSTOMER, "order"))
        assert orders, "the sandbox seeds orders for its customers"
        external_id = orders[0]["attributes"]["externalId"]
        assert client.kobject_by_external_id("order", external_id)["id"] == orders[0]["id"]
        assert client.kobject_by_external_id("order", "NO-SUCH-ORDER") is None

    def test_note_and_draft_create_then_send(self, kustomer_sandbox, seeded):
        client = client_get()
        note = client.note_create(seeded["conversation"], "BearScope: classified as order_status")
        assert note["id"]
        draft = client.draft_create(
            seeded["customer"],
            conversation_kustomer_id=seeded["conversation"],
            channel="email",
            body="Your order shipped.",
        )
        assert [d["id"] for d in client.conversation_drafts(seeded["conversation"])] == [draft["id"]]
        client.draft_send(draft["id"])
        assert list(client.conversation_drafts(seeded["conversation"])) == []
        messages = list(client.conversation_messages(seeded["conversation"]))
        sent = [m for m in messages if m["attributes"]["direction"] == "out"]
        assert sent and sent[-1]["attributes"]["meta"]["draftId"] == draft["id"]

    def test_pagination_follows_links_next(self, kustomer_sandbox, seeded):
        for n in range(6):
            control(
                kustomer_sandbox,
                "POST",
                "scenarios/customer-message",
                {"conversation_id": seeded["conversation"], "text": f"follow-up {n}", "deliver": False},
            )
        before = requests_seen(kustomer_sandbox)
        client = client_get()
        messages = list(client.paginate(f"/v1/conversations/{seeded['conversation']}/messages", page_size=2))
        assert len(messages) == 7
        assert len({m["id"] for m in messages}) == 7
        assert requests_seen(kustomer_sandbox) - before == 4  # pages of 2, 2, 2, 1


class TestErrors:
    def test_not_found_in_the_legacy_shape(self, kustomer_sandbox):
        with pytest.raises(KustomerNotFound) as caught:
            client_get().conversation_get("does-not-exist")
        assert caught.value.status == 404
        assert caught.value.errors[0].code == "not_found"
        assert "not found" in caught.value.errors[0].message.lower()

    def test_bad_request_in_the_jsonapi_shape_is_not_retried(self, kustomer_sandbox, seeded):
        before = requests_seen(kustomer_sandbox)
        with pytest.raises(KustomerBadRequest) as caught:
            client_get().conversation_custom_update(seeded["conversation"], {"aiIntent": "no type suffix"})
        assert caught.value.errors[0].pointer.endswith("aiIntent")
        assert requests_seen(kustomer_sandbox) - before == 1

    def test_missing_key_is_an_auth_error(self, kustomer_sandbox, seeded):
        client = client_for(kustomer_sandbox, api_key="")
        with pytest.raises(KustomerAuthError):
            client.conversation_get(seeded["conversation"])

    def test_unreachable_host_is_a_connection_error_after_retries(self):
        client = KustomerClient(
            base_url="http://127.0.0.1:9",
            api_key="k",
            budget=RateBudget(DatabaseBudget(), limit=100, max_wait=1),
            max_retries=2,
            backoff_base=0.01,
            max_wait=1,
            timeout=(0.5, 0.5),
        )
        with pytest.raises(KustomerConnectionError):
            client.conversation_get("x")


class TestRetries:
    def test_429_waits_for_retry_after_then_succeeds(self, kustomer_sandbox, seeded):
        control(kustomer_sandbox, "POST", "faults", {"status": 429, "count": 2, "retry_after": 1})
        before = requests_seen(kustomer_sandbox)
        started = time.monotonic()
        assert client_get().conversation_get(seeded["conversation"])["id"] == seeded["conversation"]
        assert time.monotonic() - started >= 2.0
        assert requests_seen(kustomer_sandbox) - before == 3

    def test_5xx_bursts_are_retried_with_backoff(self, kustomer_sandbox, seeded):
        control(
            kustomer_sandbox, "POST", "faults", [{"status": 503, "count": 1}, {"status": 502, "count": 1}]
        )
        assert client_get().conversation_get(seeded["conversation"])["id"] == seeded["conversation"]

    def test_persistent_5xx_ends_in_a_server_error(self, kustomer_sandbox, seeded):
        control(kustomer_sandbox, "POST", "faults", {"status": 500, "count": 50})
        before = requests_seen(kustomer_sandbox)
        with pytest.raises(KustomerServerError):
            client_for(kustomer_sandbox).conversation_get(seeded["conversation"])
        assert requests_seen(kustomer_sandbox) - before == 4  # 1 try + 3 retries

    def test_a_create_is_never_blindly_retried_after_a_server_error(self, kustomer_sandbox, seeded):
        control(kustomer_sandbox, "POST", "faults", {"status": 500, "count": 1, "path": "/notes"})
        before = requests_seen(kustomer_sandbox)
        with pytest.raises(KustomerUnknownOutcome):
            client_get().note_create(seeded["conversation"], "hello")
        assert requests_seen(kustomer_sandbox) - before == 1

    def test_a_create_is_retried_after_429_because_nothing_was_made(self, kustomer_sandbox, seeded):
        control(
            kustomer_sandbox,
            "POST",
            "faults",
            {"status": 429, "count": 1, "path": "/notes", "retry_after": 0},
        )
        assert client_get().note_create(seeded["conversation"], "hello")["id"]
        notes = list(client_get().conversation_notes(seeded["conversation"]))
        assert len(notes) == 1

    def test_reset_header_as_epoch_or_seconds(self):
        assert ratelimit_reset_seconds("12") == 12.0
        assert ratelimit_reset_seconds("1700000030", now=1700000000.0) == 30.0
        assert ratelimit_reset_seconds("1699999990", now=1700000000.0) == 0.0
        assert ratelimit_reset_seconds("soon") is None

    def test_message_text_prefers_the_full_email_body(self):
        assert (
            message_body_text({"preview": "Hi...", "meta": {"body": "Hi, the whole text"}})
            == "Hi, the whole text"
        )
        assert message_body_text({"preview": "Hi...", "meta": {}}) == "Hi..."
        assert message_body_text({"preview": None}) == ""


def start_of_a_minute() -> None:
    """Budgets count per clock minute: start a budget test well inside one."""
    remaining = 60 - time.time() % 60
    if remaining < 10:
        time.sleep(remaining + 0.1)


class TestBudget:
    def test_budget_stops_calls_beyond_the_limit(self, kustomer_sandbox, seeded):
        start_of_a_minute()
        client = client_for(kustomer_sandbox, limit=3, max_wait=0.5)
        before = requests_seen(kustomer_sandbox)
        for _ in range(3):
            client.conversation_get(seeded["conversation"])
        with pytest.raises(KustomerBudgetExhausted):
            client.conversation_get(seeded["conversation"])
        assert requests_seen(kustomer_sandbox) - before == 3

    @pytest.mark.django_db(transaction=True)
    def test_budget_is_shared_across_threads_through_the_database(self, kustomer_sandbox, seeded):
        results: list[str] = []
        start_of_a_minute()

        def worker() -> None:
            client = client_for(kustomer_sandbox, limit=10, max_wait=0.2)
            try:
                for _ in range(5):
                    try:
                        client.conversation_get(seeded["conversation"])
                        results.append("ok")
                    except KustomerBudgetExhausted:
                        results.append("refused")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("ok") == 10
        assert results.count("refused") == 10

    @pytest.mark.django_db
    def test_a_shorter_window_waits_for_the_next_one_instead_of_failing(self):
        budget = RateBudget(DatabaseBudget(), limit=2, max_wait=5, window_seconds=1)
        for _ in range(3):
            budget.acquire()
        counts = list(RateWindow.objects.order_by("window").values_list("count", flat=True))
        assert len(counts) == 2 and sum(counts) == 3 and max(counts) == 2

    def test_redis_budget_counts_per_minute(self):
        try:
            backend = RedisBudget("redis://127.0.0.1:6379/15")
            backend.redis.ping()
        except Exception:
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        window = int(time.time())  # a key no other run uses
        assert [backend.try_acquire(window, 2) for _ in range(3)] == [True, True, False]
        assert backend.try_acquire(window + 1, 2) is True  # the next minute has its own count
        backend.redis.delete(backend._key(window), backend._key(window + 1))
