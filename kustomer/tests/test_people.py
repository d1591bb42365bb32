"""Users and teams mirrored from the sandbox, names for ids, the hourly schedule and the admin's button."""

import math
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from kustomer import tasks
from kustomer.exceptions import KustomerAuthError
from kustomer.models import Agent, Team
from kustomer.people import people_sync
from kustomer.selectors import people_names
from kustomer.tests.test_sandbox import control

pytestmark = pytest.mark.django_db

MARCUS = "6650a1b2c3d4e5f600a1b203"  # Marcus Bell, agent in Orders & Delivery
RETURNS_TEAM = "6650a1b2c3d4e5f600a1e202"
TEAM_NAMES = ["Accounts & Billing", "General Support", "Orders & Delivery", "Returns & Refunds"]


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-tests-only"))
    return client


def routes(sandbox, route: str) -> list[dict]:
    return [r for r in sandbox.state.request_log()["requests"] if r["route"] == route]


class TestSync:
    def test_users_and_teams_arrive_page_by_page(self, kustomer_sandbox):
        kustomer_sandbox.state.request_log_reset()
        listed = kustomer_sandbox.state.people_list("user")
        synced = people_sync(page_size=5)
        assert synced.users.listed == synced.users.created == Agent.objects.count() == len(listed)
        assert len(routes(kustomer_sandbox, "GET /v1/users")) == math.ceil(len(listed) / 5) >= 3
        marcus = Agent.objects.get(kustomer_id=MARCUS)
        assert (marcus.name, marcus.display_name, marcus.user_type) == ("Marcus Bell", "Marcus Bell", "user")
        assert marcus.email == "marcus.bell@bearscope-demo.example"
        assert {"user", "system", "machine"} == set(Agent.objects.values_list("user_type", flat=True))
        assert sorted(Team.objects.values_list("name", flat=True)) == TEAM_NAMES
        assert synced.teams.created == 4 and synced.users.changed == synced.teams.changed == 0

    def test_a_renamed_agent_and_team_update_on_the_next_sync(self, kustomer_sandbox):
        people_sync(page_size=5)
        first_sync = Agent.objects.get(kustomer_id=MARCUS).synced_at
        control(kustomer_sandbox, "POST", f"users/{MARCUS}", {"name": "Marcus Bell-Okoro", "deliver": False})
        control(kustomer_sandbox, "POST", f"teams/{RETURNS_TEAM}", {"name": "Returns", "deliver": False})
        assert people_names(user_ids=[MARCUS])[MARCUS].name == "Marcus Bell"  # until the sync

        synced = people_sync(page_size=5)
        assert (synced.users.created, synced.users.changed, synced.teams.changed) == (0, 1, 1)
        marcus = Agent.objects.get(kustomer_id=MARCUS)
        assert (marcus.name, marcus.display_name) == ("Marcus Bell-Okoro", "Marcus Bell-Okoro")
        assert marcus.synced_at > first_sync
        names = people_names(user_ids=[MARCUS], team_ids=[RETURNS_TEAM])
        assert (str(names[MARCUS]), str(names[RETURNS_TEAM])) == ("Marcus Bell-Okoro", "Returns")

    def test_someone_gone_from_kustomer_keeps_their_name(self, kustomer_sandbox):
        long_ago = timezone.now() - timedelta(days=30)
        Agent.objects.create(
            kustomer_id="6650a1b2c3d4e5f600a1b2ff", name="Left Last Year", synced_at=long_ago
        )
        people_sync()
        gone = Agent.objects.get(kustomer_id="6650a1b2c3d4e5f600a1b2ff")
        assert (gone.name, gone.synced_at) == ("Left Last Year", long_ago)

    def test_a_refused_role_fails_loudly_and_writes_nothing(self, kustomer_sandbox):
        control(kustomer_sandbox, "POST", "config", {"refused": ["team.read"]})
        with pytest.raises(KustomerAuthError, match=r"org\.permission\.team\.read"):
            people_sync()
        assert not Agent.objects.exists()  # users are read first, but nothing is written before both lists

    def test_the_task_says_what_it_did_and_skips_without_a_key(self, kustomer_sandbox, settings):
        users = len(kustomer_sandbox.state.people_list("user"))
        assert tasks.people_sync() == f"users {users} ({users} new, 0 changed), teams 4 (4 new, 0 changed)"
        settings.KUSTOMER_API_KEY = ""
        assert tasks.people_sync() == "skipped: KUSTOMER_API_KEY is not set"


class TestNames:
    def test_known_ids_show_names_and_unknown_ones_are_marked_with_their_id(self):
        now = timezone.now()
        Agent.objects.create(
            kustomer_id="u-priya", name="Priya Nair", email="priya@example.com", synced_at=now
        )
        Agent.objects.create(kustomer_id="u-sam", name="", display_name="Sam", synced_at=now)
        Team.objects.create(kustomer_id="t-orders", name="Orders & Delivery", synced_at=now)
        names = people_names(
            user_ids=["u-priya", "u-sam", "6650a1b2c3d4e5f600a1b299", ""], team_ids=["t-orders", "t-gone"]
        )
        assert set(names) == {"u-priya", "u-sam", "6650a1b2c3d4e5f600a1b299", "t-orders", "t-gone"}
        priya = names["u-priya"]
        assert (str(priya), priya.known, priya.kind, priya.email) == (
            "Priya Nair",
            True,
            "agent",
            "priya@example.com",
        )
        assert str(names["u-sam"]) == "Sam"
        unknown = names["6650a1b2c3d4e5f600a1b299"]
        assert (unknown.known, str(unknown)) == (False, "Unknown agent (6650a1b2c3d4e5f600a1b299)")
        assert (names["t-orders"].name, names["t-orders"].kind) == ("Orders & Delivery", "team")
        assert (names["t-gone"].known, names["t-gone"].name) == (False, "Unknown team (t-gone)")

    def test_two_queries_for_any_number_of_ids_and_none_for_none(self, django_assert_num_queries):
        with django_assert_num_queries(2):
            people_names(user_ids=[f"u{n}" for n in range(50)], team_ids=["t1", "t2"])
        with django_assert_num_queries(0):
            assert people_names() == {}


def test_the_hourly_sync_is_scheduled_after_migrate():
    schedule = Schedule.objects.get(name="Users and teams sync")
    assert (schedule.func, schedule.schedule_type) == ("kustomer.tasks.people_sync", Schedule.HOURLY)


class TestAdmin:
    def test_the_button_syncs_on_a_worker_and_comes_back(
        self, admin_client, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        page = admin_client.get("/admin/kustomer/team/").content.decode()
        assert "Sync users and teams now" in page
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = admin_client.post("/admin/kustomer/agent/sync/", {"next": "/admin/kustomer/team/"})
        assert len(callbacks) == 1  # enqueued once the request's transaction commits
        assert (response.status_code, response.url) == (302, "/admin/kustomer/team/")
        assert sorted(Team.objects.values_list("name", flat=True)) == TEAM_NAMES  # tasks run inline in tests
        page = admin_client.get("/admin/kustomer/team/").content.decode()
        assert "Orders &amp; Delivery" in page and 'name="name"' not in page  # read-only list

    def test_the_button_is_a_post_and_returns_only_to_this_site(self, admin_client, kustomer_sandbox):
        assert admin_client.get("/admin/kustomer/agent/sync/").status_code == 405
        response = admin_client.post("/admin/kustomer/agent/sync/", {"next": "https://elsewhere.example/"})
        assert response.url == "/admin/kustomer/agent/"

    def test_agents_cannot_be_added_or_edited_here(self, admin_client):
        agent = Agent.objects.create(kustomer_id="u-1", name="Priya Nair", synced_at=timezone.now())
        assert admin_client.get("/admin/kustomer/agent/add/").status_code == 403
        assert (
            admin_client.post(f"/admin/kustomer/agent/{agent.pk}/change/", {"name": "X"}).status_code == 403
        )
