"""The sandbox's request log and refused roles, over real HTTP."""

import requests

from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, CUSTOMER_ID
from kustomer.tests.test_sandbox import AUTH, api, control


class TestRequestLog:
    def test_every_api_request_is_logged_and_writes_are_counted(self, kustomer_sandbox):
        control(kustomer_sandbox, "POST", "requests/reset")
        api(kustomer_sandbox, "GET", f"/v1/conversations/{CONVERSATION_ID}")
        requests.get(kustomer_sandbox.url("/v1/users/current"), timeout=10)
        api(kustomer_sandbox, "GET", "/v1/no-such-thing")
        log = control(kustomer_sandbox, "GET", "requests")
        assert (log["total"], log["writes"], log["dropped"]) == (3, 0, 0)
        assert [(e["method"], e["path"], e["status"]) for e in log["requests"]] == [
            ("GET", f"/v1/conversations/{CONVERSATION_ID}", 200),
            ("GET", "/v1/users/current", 401),
            ("GET", "/v1/no-such-thing", 404),
        ]
        assert log["requests"][0]["route"] == "GET /v1/conversations/{id}"
        assert log["requests"][0]["time"].endswith("Z")

        api(kustomer_sandbox, "PATCH", f"/v1/conversations/{CONVERSATION_ID}", json={"custom": {"aStr": "x"}})
        api(kustomer_sandbox, "POST", f"/v1/conversations/{CONVERSATION_ID}/notes", json={"body": "n"})
        in_process = kustomer_sandbox.state.request_log()
        assert in_process["writes"] == 2
        assert [e["write"] for e in in_process["requests"]] == [False, False, False, True, True]
        assert control(kustomer_sandbox, "POST", "requests/reset") == {
            "total": 0,
            "writes": 0,
            "dropped": 0,
            "requests": [],
        }
        assert control(kustomer_sandbox, "GET", "requests")["total"] == 0

    def test_the_log_keeps_the_newest_requests_and_counts_the_rest(self):
        with SandboxServer(request_log_limit=2) as server:
            for path in ("/v1/users/current", "/v1/customers/x", f"/v1/customers/{CUSTOMER_ID}"):
                requests.get(server.url(path), headers=AUTH, timeout=5)
            log = server.state.request_log()
        assert (log["total"], log["dropped"]) == (3, 1)
        assert [e["path"] for e in log["requests"]] == ["/v1/customers/x", f"/v1/customers/{CUSTOMER_ID}"]


class TestRoles:
    def test_a_refused_family_answers_403_naming_the_role(self):
        with SandboxServer(refused=["org.permission.conversation.update", "note"]) as server:
            path = server.url(f"/v1/conversations/{CONVERSATION_ID}")
            assert requests.get(path, headers=AUTH, timeout=5).status_code == 200
            patched = requests.patch(path, json={"custom": {"aStr": "x"}}, headers=AUTH, timeout=5)
            note = requests.post(path + "/notes", json={"body": "n"}, headers=AUTH, timeout=5)
            unchanged = requests.get(path, headers=AUTH, timeout=5).json()["data"]["attributes"]["custom"]
        assert patched.status_code == 403
        assert patched.json() == {
            "errors": [
                {
                    "status": 403,
                    "code": "forbidden",
                    "title": "Forbidden",
                    "detail": "The API key does not have the role org.permission.conversation.update.",
                    "meta": {"roles": ["org.permission.conversation.update"]},
                }
            ]
        }
        assert "x-ratelimit-limit" in patched.headers
        assert note.json()["errors"][0]["meta"]["roles"] == ["org.permission.note.create"]
        assert unchanged == {}

    def test_refused_roles_can_change_at_run_time_until_reset(self, kustomer_sandbox):
        path = f"/v1/customers/{CUSTOMER_ID}"
        assert control(kustomer_sandbox, "POST", "config", {"refused": ["customer.read"]})["refused"] == [
            "customer.read"
        ]
        assert api(kustomer_sandbox, "GET", path).status_code == 403
        assert api(kustomer_sandbox, "GET", "/v1/users/current").status_code == 200
        bad = requests.post(kustomer_sandbox.url("/_sandbox/config"), json={"refused": "all"}, timeout=5)
        assert bad.status_code == 400
        control(kustomer_sandbox, "POST", "reset")
        assert api(kustomer_sandbox, "GET", path).status_code == 200
