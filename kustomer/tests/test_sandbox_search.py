"""The sandbox's search (POST /v1/customers/search): the tap's body, paging, the page cap, its budget."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.test_sandbox import AUTH, api, control

PATH = "/v1/customers/search"


def iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def tap_body(gte: str, lte: str, context: str = "conversation", order: str = "asc") -> dict:
    """The body a public Kustomer tap sends for one date window."""
    field = f"{context}_updated_at"
    return {
        "and": [{field: {"gte": gte}}, {field: {"lte": lte}}],
        "sort": [{field: order}],
        "queryContext": context,
    }


def search_all(sandbox, body: dict, page_size: int) -> tuple[list[dict], list[dict]]:
    """Every page of a search, re-sending the body to each links.next; the items and each page's meta."""
    items, metas, path = [], [], f"{PATH}?pageSize={page_size}"
    while path:
        answer = api(sandbox, "POST", path, json=body)
        assert answer.status_code == 200, answer.text
        items += answer.json()["data"]
        metas.append(answer.json()["meta"])
        path = answer.json()["links"]["next"]
    return items, metas


class TestSearch:
    def test_the_taps_window_pages_through_conversations_oldest_first(self, kustomer_sandbox):
        summary = control(kustomer_sandbox, "GET", "state")
        found, metas = search_all(kustomer_sandbox, tap_body(iso(40), iso(0)), page_size=5)
        assert {c["id"] for c in found} == set(summary["conversations"])
        assert len(found) == metas[0]["total"] == len(summary["conversations"])
        assert len(metas) == -(-len(found) // 5)
        updated = [c["attributes"]["updatedAt"] for c in found]
        assert updated == sorted(updated)
        assert found[0] == api(kustomer_sandbox, "GET", f"/v1/conversations/{found[0]['id']}").json()["data"]
        log = kustomer_sandbox.state.request_log()
        assert log["writes"] == 0 and {e["route"] for e in log["requests"]} >= {"POST /v1/customers/search"}

    def test_windows_statuses_and_descending_order(self, kustomer_sandbox):
        recent, _ = search_all(kustomer_sandbox, tap_body(iso(1), iso(0), order="desc"), page_size=100)
        updated = [c["attributes"]["updatedAt"] for c in recent]
        assert updated == sorted(updated, reverse=True)
        assert recent and all(u >= iso(1) for u in updated)
        everything, _ = search_all(kustomer_sandbox, tap_body(iso(400), iso(0)), page_size=100)
        assert len(recent) < len(everything)
        done_body = {"queryContext": "conversation", "and": [{"conversation_status": {"equals": "done"}}]}
        done, _ = search_all(kustomer_sandbox, done_body, page_size=100)
        assert done and {c["attributes"]["status"] for c in done} == {"done"}
        assert {c["id"] for c in done} < {c["id"] for c in everything}
        by_date = {"queryContext": "conversation", "and": [{"conversation_created_at": {"lt": iso(2)[:10]}}]}
        older, _ = search_all(kustomer_sandbox, by_date, page_size=100)
        assert older and all(c["attributes"]["createdAt"] < iso(2)[:10] for c in older)

    def test_customers_and_messages_within_two_years(self, kustomer_sandbox):
        customers, _ = search_all(kustomer_sandbox, tap_body("2000-01-01", iso(0), "customer"), page_size=100)
        summary = control(kustomer_sandbox, "GET", "state")
        # The three ABCD customers were last updated in 2019: beyond search's two years.
        assert len(customers) == len(summary["customers"]) - 3
        assert {c["type"] for c in customers} == {"customer"}
        messages, _ = search_all(kustomer_sandbox, tap_body(iso(2), iso(0), "message"), page_size=50)
        assert messages and {m["type"] for m in messages} == {"message"}
        assert all(m["attributes"]["updatedAt"] >= iso(2) for m in messages)

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"and": []}, "/queryContext"),
            ({"queryContext": "kobject_order"}, "/queryContext"),
            ({"queryContext": "conversation", "and": [{"conversation_priority": {"gte": 4}}]}, "/and/0"),
            ({"queryContext": "conversation", "and": [{"conversation_updated_at": {"gte": "soon"}}]}, None),
            (
                {
                    "queryContext": "conversation",
                    "and": [{"conversation_updated_at": {"near": "2025-01-01"}}],
                },
                None,
            ),
            ({"queryContext": "conversation", "or": {"conversation_status": {"equals": "open"}}}, "/or"),
            ({"queryContext": "conversation", "sort": [{"conversation_updated_at": "up"}]}, "/sort"),
        ],
    )
    def test_bad_queries_are_400(self, kustomer_sandbox, body, pointer):
        answer = api(kustomer_sandbox, "POST", PATH, json=body)
        assert answer.status_code == 400
        if pointer:
            assert answer.json()["errors"][0]["source"]["pointer"] == pointer

    def test_page_size_limit(self, kustomer_sandbox):
        body = tap_body(iso(40), iso(0))
        assert api(kustomer_sandbox, "POST", f"{PATH}?pageSize=500", json=body).status_code == 200
        assert api(kustomer_sandbox, "POST", f"{PATH}?pageSize=501", json=body).status_code == 400


class TestSearchLimits:
    def test_paging_stops_at_the_page_cap(self):
        with SandboxServer(search_page_cap=2) as server:
            body = tap_body(iso(40), iso(0))
            pages = [
                requests.post(
                    server.url(f"{PATH}?page={n}&pageSize=5"), json=body, headers=AUTH, timeout=5
                ).json()
                for n in (1, 2, 3)
            ]
        assert pages[0]["links"]["next"] == f"{PATH}?page=2&pageSize=5"
        assert len(pages[1]["data"]) == 5 and pages[1]["links"]["next"] is None
        assert pages[2]["data"] == [] and pages[2]["links"]["next"] is None
        assert pages[2]["meta"]["total"] > 10

    def test_each_key_has_a_search_budget_on_top_of_the_org_budget(self):
        body = tap_body(iso(40), iso(0))
        with SandboxServer(search_rate_limit=3, retry_after=True) as server:
            searches = [requests.post(server.url(PATH), json=body, headers=AUTH, timeout=5) for _ in range(4)]
            other_key = requests.post(
                server.url(PATH), json=body, headers={"Authorization": "Bearer another-key"}, timeout=5
            )
            read = requests.get(server.url("/v1/users/current"), headers=AUTH, timeout=5)
            stats = server.stats()
        assert [s.status_code for s in searches] == [200, 200, 200, 429]
        limited = searches[-1]
        assert (limited.headers["x-ratelimit-limit"], limited.headers["x-ratelimit-remaining"]) == ("3", "0")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["errors"][0]["status"] == 429
        assert (other_key.status_code, read.status_code) == (200, 200)
        assert read.headers["x-ratelimit-limit"] == "1000"
        assert stats["by_route"]["POST /v1/customers/search"] == 5
