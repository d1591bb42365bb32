"""The sandbox's users and teams, and renames that BearScope must notice, over real HTTP."""

import requests

from kustomer.tests.test_sandbox import SECRET, api, control


def all_pages(sandbox, path: str) -> tuple[list[dict], int]:
    """Every resource of a list, following links.next, and how many pages that took."""
    items, pages = [], 0
    while path:
        body = api(sandbox, "GET", path).json()
        items += body["data"]
        pages += 1
        path = body["links"]["next"]
    return items, pages


class TestUsersAndTeams:
    def test_users_page_through_with_names_and_emails(self, kustomer_sandbox):
        users, pages = all_pages(kustomer_sandbox, "/v1/users?pageSize=5")
        agents = [u for u in users if u["attributes"]["userType"] == "user"]
        assert len(agents) == 12 and pages == len(users) // 5 + 1
        assert len({u["id"] for u in users}) == len(users)
        for agent in agents:
            attributes = agent["attributes"]
            assert agent["type"] == "user"
            assert attributes["name"] == attributes["displayName"]
            assert attributes["email"].endswith("@bearscope-demo.example")
        assert {"machine", "system"} <= {u["attributes"]["userType"] for u in users}
        one = api(kustomer_sandbox, "GET", f"/v1/users/{agents[3]['id']}").json()["data"]
        assert one == agents[3]
        assert api(kustomer_sandbox, "GET", "/v1/users?pageSize=500").status_code == 200
        assert api(kustomer_sandbox, "GET", "/v1/users?pageSize=501").status_code == 400
        assert api(kustomer_sandbox, "GET", "/v1/users/000000000000000000000000").status_code == 404

    def test_teams_name_their_members(self, kustomer_sandbox):
        teams, _ = all_pages(kustomer_sandbox, "/v1/teams?pageSize=3")
        users = {u["id"] for u in all_pages(kustomer_sandbox, "/v1/users?pageSize=500")[0]}
        assert [t["attributes"]["name"] for t in teams] == [
            "Orders & Delivery",
            "Returns & Refunds",
            "Accounts & Billing",
            "General Support",
        ]
        for team in teams:
            assert team["type"] == "team"
            assert team["attributes"]["members"] and set(team["attributes"]["members"]) <= users
        assert api(kustomer_sandbox, "GET", f"/v1/teams/{teams[1]['id']}").json()["data"] == teams[1]


class TestRenames:
    def test_a_renamed_agent_reads_back_and_fires_user_update(self, kustomer_sandbox, webhook_receiver):
        control(kustomer_sandbox, "POST", "webhooks", {"url": webhook_receiver.url, "secret": SECRET})
        user_id = "6650a1b2c3d4e5f600a1b203"
        before = api(kustomer_sandbox, "GET", f"/v1/users/{user_id}").json()["data"]["attributes"]
        renamed = control(kustomer_sandbox, "POST", f"users/{user_id}", {"name": "Marcus Bell-Okoro"})
        assert renamed["rev"] == before["rev"] + 1
        after = api(kustomer_sandbox, "GET", f"/v1/users/{user_id}").json()["data"]["attributes"]
        assert (after["name"], after["displayName"], after["email"]) == (
            "Marcus Bell-Okoro",
            "Marcus Bell-Okoro",
            before["email"],
        )
        assert after["updatedAt"] > before["updatedAt"]
        (delivery,) = webhook_receiver.wait_for(1)
        event = delivery["json"]
        assert event["name"] == "kustomer.user.update" and event["data"]["id"] == user_id
        assert event["changes"]["attributes"]["name"] == {
            "op": "replace",
            "before": "Marcus Bell",
            "after": "Marcus Bell-Okoro",
        }

    def test_a_renamed_team_reads_back(self, kustomer_sandbox):
        team_id = "6650a1b2c3d4e5f600a1e204"
        result = control(kustomer_sandbox, "POST", f"teams/{team_id}", {"name": "Tier 1", "deliver": False})
        assert result["events"] == ["kustomer.team.update"]
        assert result["payloads"][0]["changes"]["attributes"]["displayName"]["after"] == "Tier 1"
        assert api(kustomer_sandbox, "GET", f"/v1/teams/{team_id}").json()["data"]["attributes"]["name"] == (
            "Tier 1"
        )

    def test_bad_renames_are_refused(self, kustomer_sandbox):
        url = kustomer_sandbox.url("/_sandbox/users/6650a1b2c3d4e5f600a1b203")
        assert requests.post(url, json={}, timeout=5).status_code == 400
        assert requests.post(url, json={"name": ""}, timeout=5).status_code == 400
        assert requests.post(url, json={"title": "x"}, timeout=5).status_code == 400
        team = kustomer_sandbox.url("/_sandbox/teams/6650a1b2c3d4e5f600a1e201")
        assert requests.post(team, json={"email": "x@example.com"}, timeout=5).status_code == 400
        missing = kustomer_sandbox.url("/_sandbox/users/000000000000000000000000")
        assert requests.post(missing, json={"name": "x"}, timeout=5).status_code == 404
