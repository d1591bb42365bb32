"""The history import (kustomer_import and the admin) against the sandbox's history, over HTTP."""

import time
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import requests
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from kustomer import tasks
from kustomer.assumptions import ASSUMPTIONS
from kustomer.client_search import SEARCH_PAGE_CAP, search_continue
from kustomer.history_import import history_import_run, import_run_claim, import_run_get_or_create
from kustomer.models import Conversation, ConversationDispatch, Customer, ImportRun, Message, RateWindow
from kustomer.ratelimit import ShareBudget, budget_get
from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import SANDBOX_API_KEY

HISTORY = 120
SINCE = (datetime.now(UTC) - timedelta(days=95)).date().isoformat()


@pytest.fixture(scope="module")
def past():
    """One sandbox with a small history for the module, reset before each test."""
    with SandboxServer(api_key=SANDBOX_API_KEY, history=HISTORY, rate_limit=100_000) as server:
        yield server


@pytest.fixture
def sandbox(past, settings, db):
    requests.post(past.url("/_sandbox/reset"), timeout=10).raise_for_status()
    settings.KUSTOMER_API_BASE_URL = past.base_url
    settings.KUSTOMER_API_KEY = SANDBOX_API_KEY
    settings.KUSTOMER_RATE_LIMIT_PER_MINUTE = 100_000
    return past


def expected(sandbox) -> dict[str, int]:
    state = sandbox.state
    customers = {c["relationships"]["customer"]["data"]["id"] for c in state.conversations.values()}
    return {
        "conversations": len(state.conversations),
        "messages": sum(len(messages) for messages in state.messages.values()),
        "customers": len(customers),
    }


def run_import(*args: str) -> tuple[ImportRun, str]:
    out = StringIO()
    call_command("kustomer_import", "--since", SINCE, *args, stdout=out, stderr=StringIO())
    return ImportRun.objects.order_by("-pk").first(), out.getvalue()


def writes(sandbox) -> int:
    return sandbox.state.request_log()["writes"]


class TestImport:
    def test_copies_every_conversation_with_its_messages_and_customer_and_says_so(self, sandbox):
        want = expected(sandbox)
        run, out = run_import()
        assert run.status == ImportRun.Status.DONE
        assert (run.conversations_imported, run.conversations_present) == (want["conversations"], 0)
        assert (run.messages_imported, run.customers_imported) == (want["messages"], want["customers"])
        assert Conversation.objects.count() == want["conversations"]
        assert Message.objects.count() == want["messages"]
        assert Customer.objects.exclude(kustomer_updated_at=None).count() == want["customers"]
        assert not Conversation.objects.filter(imported_at=None).exists()
        log = sandbox.state.request_log()
        assert run.requests == log["total"] and log["writes"] == 0
        assert f"Conversations: {want['conversations']} imported, 0 updated, 0 already there." in out
        assert f"Requests to Kustomer: {run.requests}." in out
        done = Conversation.objects.filter(status="done")
        assert done.exists() and not done.filter(resolved_count=0).exists()

    def test_no_pipeline_fires_for_history(self, sandbox):
        run_import()
        assert Conversation.objects.exists()
        assert not ConversationDispatch.objects.exists()
        assert not apps.get_model("classification", "Classification").objects.exists()
        assert writes(sandbox) == 0  # no write-back, note, draft or message

    def test_a_second_run_copies_nothing_and_counts_everything_as_there(self, sandbox):
        want = expected(sandbox)
        first, _ = run_import()
        sandbox.state.request_log_reset()
        second, _ = run_import()
        assert second.pk != first.pk and second.status == ImportRun.Status.DONE
        assert (second.conversations_imported, second.conversations_updated) == (0, 0)
        assert second.conversations_present == want["conversations"]
        assert (second.messages_imported, second.messages_present) == (0, want["messages"])
        assert (second.customers_imported, second.customers_present) == (0, want["customers"])
        routes = {r["route"] for r in sandbox.state.request_log()["requests"]}
        assert routes == {"POST /v1/customers/search"}  # unchanged conversations cost no other call
        assert Conversation.objects.count() == want["conversations"]
        assert Message.objects.count() == want["messages"]

    def test_stopped_part_way_it_resumes_where_it_stopped(self, sandbox):
        want = expected(sandbox)
        first, out = run_import("--limit", "30")
        assert first.status == ImportRun.Status.STOPPED and first.conversations_imported == 30
        assert "run the same command again" in out
        assert Conversation.objects.count() == 30
        again, out = run_import()
        assert again.pk == first.pk and again.status == ImportRun.Status.DONE
        assert again.conversations_imported == want["conversations"]
        assert again.messages_imported == want["messages"] and again.conversations_present == 0
        assert Conversation.objects.count() == want["conversations"]
        assert Message.objects.count() == want["messages"]
        assert "Resuming" in out

    def test_a_429_storm_slows_it_without_failing(self, sandbox):
        want = expected(sandbox)
        fault = {"status": 429, "count": 30, "retry_after": 0}
        requests.post(sandbox.url("/_sandbox/faults"), json=fault, timeout=10).raise_for_status()
        run, _ = run_import()
        statuses = [r["status"] for r in sandbox.state.request_log()["requests"]]
        assert statuses.count(429) == 30
        assert run.status == ImportRun.Status.DONE and run.conversations_imported == want["conversations"]
        assert Message.objects.count() == want["messages"]
        assert run.requests == len(statuses)  # retries are requests too

    def test_a_search_that_pages_once_still_brings_everything_in_windows(self, sandbox):
        requests.post(
            sandbox.url("/_sandbox/config"), json={"search_page_cap": 1}, timeout=10
        ).raise_for_status()
        run, _ = run_import()
        assert run.conversations_imported == expected(sandbox)["conversations"]

    def test_a_conversation_that_came_by_webhook_is_left_to_the_live_pipeline(self, sandbox):
        live_id = next(iter(sandbox.state.conversations))
        live = Conversation.objects.create(
            org=sandbox.state.org, kustomer_id=live_id, name="live", status="open", rev=1
        )
        run, _ = run_import()
        live.refresh_from_db()
        assert (live.name, live.status, live.imported_at) == ("live", "open", None)
        assert run.conversations_present == 1
        assert run.conversations_imported == expected(sandbox)["conversations"] - 1

    def test_resolved_imports_can_be_analysed_afterwards(self, sandbox, settings):
        settings.ANTHROPIC_API_KEY = ""
        run_import()
        call_command("intelligence_backfill", "--since", SINCE, stdout=StringIO(), stderr=StringIO())
        analyses = apps.get_model("intelligence", "ConversationAnalysis").objects
        resolved = Conversation.objects.filter(status="done").count()
        assert resolved and analyses.count() == resolved
        assert writes(sandbox) == 0


class TestRefusals:
    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["--since", "2026-02-30"], "Dates are written like 2026-01-31"),
            (["--since", "2026-03-02", "--until", "2026-03-01"], "is before the first"),
            (["--since", "2026-03-01", "--budget-share", "0"], "above 0 and at most 1"),
            (["--since", "2026-03-01", "--budget-share", "1.5"], "above 0 and at most 1"),
            (["--since", "2999-01-01"], "in the future"),
            (["--since", "2026-03-01", "--limit", "0"], "--limit must be 1 or more"),
        ],
    )
    def test_bad_input_is_one_readable_line(self, db, args, says):
        with pytest.raises(CommandError, match=says):
            call_command("kustomer_import", *args, stdout=StringIO())
        assert not ImportRun.objects.exists()

    def test_kustomer_not_configured(self, db, settings):
        settings.KUSTOMER_API_KEY = ""
        with pytest.raises(CommandError, match="Kustomer is not configured"):
            call_command("kustomer_import", "--since", SINCE, stdout=StringIO())

    def test_a_refused_key_fails_the_run_and_a_rerun_resumes_it(self, sandbox, settings):
        settings.KUSTOMER_API_KEY = "not-the-key"
        with pytest.raises(CommandError, match=r"Kustomer refused the API key: .*\(401\)"):
            run_import()
        failed = ImportRun.objects.get()
        assert failed.status == ImportRun.Status.FAILED and "401" in failed.error
        assert not Conversation.objects.exists()
        settings.KUSTOMER_API_KEY = SANDBOX_API_KEY
        run, _ = run_import()
        assert run.pk == failed.pk and run.status == ImportRun.Status.DONE and run.error == ""

    def test_only_one_import_runs_at_a_time(self, sandbox):
        run = import_run_get_or_create(since=date(2026, 1, 1), until=None, share=0.5, started_by="t")
        import_run_claim(run=run)
        with pytest.raises(CommandError, match="is running"):
            run_import()


class TestAdmin:
    @pytest.fixture
    def admin(self, db) -> Client:
        client = Client()
        client.force_login(
            get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-tests-only")
        )
        return client

    def test_started_from_the_admin_it_runs_on_a_worker_and_shows_its_progress(
        self, admin, sandbox, django_capture_on_commit_callbacks
    ):
        page = admin.get("/admin/kustomer/importrun/").content.decode()
        assert "History imports" in page
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = admin.post("/admin/kustomer/importrun/add/", {"since": SINCE, "budget_share": "0.5"})
        assert response.status_code == 302, response.content.decode()[-2000:]
        assert len(callbacks) >= 1  # queued once the request's transaction commits; tasks run inline in tests
        run = ImportRun.objects.get()
        want = expected(sandbox)
        assert run.status == ImportRun.Status.DONE and run.conversations_imported == want["conversations"]
        assert run.started_by == "ops"
        page = admin.get(response.url).content.decode()
        assert f"{want['conversations']} imported" in page and "every conversation of the range is in" in page
        assert 'http-equiv="refresh"' not in page  # only a running import's page reloads itself
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
        assert 'http-equiv="refresh"' in admin.get(response.url).content.decode()
        assert writes(sandbox) == 0
        live = Conversation.objects.create(kustomer_id="live-1", name="Came by webhook")
        imported = admin.get("/admin/kustomer/conversation/?came_from=import").content.decode()
        assert live.name not in imported and f"{want['conversations']} conversations" in imported
        assert live.name in admin.get("/admin/kustomer/conversation/?came_from=webhook").content.decode()

    def test_the_form_refuses_a_bad_range_with_a_message(self, admin, sandbox):
        response = admin.post(
            "/admin/kustomer/importrun/add/",
            {"since": "2026-03-02", "until": "2026-03-01", "budget_share": "0.5"},
        )
        assert response.status_code == 200 and "is before the first" in response.content.decode()
        assert not ImportRun.objects.exists()

    def test_a_stopped_import_does_not_go_on_and_resumes_when_started_again(self, sandbox):
        run = import_run_get_or_create(since=date.fromisoformat(SINCE), until=None, share=1, started_by="t")
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.STOPPED)
        assert tasks.history_import_run(run.pk) == ImportRun.Status.STOPPED
        assert not Conversation.objects.exists()
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.QUEUED)
        assert tasks.history_import_run(run.pk) == ImportRun.Status.DONE


class TestWorkerSlices:
    def test_a_slice_ends_at_its_deadline_and_the_next_goes_on(self, sandbox):
        run = import_run_get_or_create(since=date.fromisoformat(SINCE), until=None, share=1, started_by="t")
        run = history_import_run(run=import_run_claim(run=run, worker=True), deadline=time.monotonic())
        assert run.status == ImportRun.Status.RUNNING and run.conversations_imported == 1
        assert tasks.history_import_run(run.pk, 2) == ImportRun.Status.DONE
        run.refresh_from_db()
        assert run.conversations_imported == expected(sandbox)["conversations"]
        assert Conversation.objects.count() == run.conversations_imported

    def test_a_queued_import_waits_stopped_while_another_runs(self, sandbox):
        other = import_run_get_or_create(since=date(2026, 1, 1), until=None, share=0.5, started_by="t")
        import_run_claim(run=other)
        queued = ImportRun.objects.create(
            since=date(2026, 2, 1), ends_at=datetime.now(UTC), budget_share=0.5, cursor=datetime.now(UTC)
        )
        assert tasks.history_import_run(queued.pk).startswith("refused")
        queued.refresh_from_db()
        assert queued.status == ImportRun.Status.STOPPED and "is running" in queued.error


class TestBudgetAndWindows:
    def test_the_share_takes_each_slot_from_the_org_budget_too(self, db, settings):
        settings.KUSTOMER_RATE_LIMIT_PER_MINUTE = 10
        budget = ShareBudget(budget_get(), share=0.5)
        assert budget.limit == 5
        for _ in range(3):
            budget.acquire()
        assert budget.spent == 3 and sum(RateWindow.objects.values_list("count", flat=True)) == 3

    def test_a_new_window_starts_at_the_last_update_seen(self):
        start = datetime(2026, 1, 1, tzinfo=UTC)
        later = start + timedelta(hours=5)
        assert search_continue(cursor=start, page=1, last_seen=later) == (later, 1)
        assert search_continue(cursor=start, page=3, last_seen=start) == (start, 4)
        with pytest.raises(Exception, match="cannot page past them"):
            search_continue(cursor=start, page=SEARCH_PAGE_CAP, last_seen=start)

    def test_the_page_cap_assumption_names_its_function(self):
        (assumption,) = [a for a in ASSUMPTIONS if "stops paging" in a.statement]
        assert assumption.held_by() is search_continue
