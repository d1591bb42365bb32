"""The analysis pipeline end to end: webhooks in, computed numbers, Claude's extraction, rollups."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bearscope.queue import task_claim_expiry
from bearscope.testing.messages_server import reply_json
from intelligence import rollups, services
from intelligence.models import ConversationAnalysis, DailyRollup
from kustomer.models import Conversation, Message, WebhookEvent
from kustomer.tests.factories import ConversationFactory, MessageFactory
from kustomer.tests.helpers import post_webhook
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, load_fixture

from .factories import AnalysisFactory

pytestmark = pytest.mark.django_db
Extraction = ConversationAnalysis.Extraction
VALID_ANSWER = {
    "root_cause": "shipping_delay",
    "resolution_method": "information_provided",
    "accuracy": {"score": 4, "evidence": "Your parcel is with the carrier and arrives Friday."},
    "tone": {"score": 5, "evidence": "So sorry for the wait, Maya!"},
    "summary": "Maya asked where her order was. The agent shared the carrier's new delivery date.",
}


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    client = Client()

    def _deliver(payload: dict) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, payload)
        assert response.status_code == 200, response.content
        return WebhookEvent.objects.get(event_id=payload["id"])

    return _deliver


def conversation_event(event_id: str, *, rev: int, minute: int, **attributes) -> dict:
    payload = copy.deepcopy(load_fixture("conversation_update_status_done"))
    payload["id"] = event_id
    payload["data"]["attributes"].update(
        rev=rev, updatedAt=f"2025-06-02T15:{minute:02d}:00.000Z", messageCount=0, **attributes
    )
    return payload


def run_due(django_capture_on_commit_callbacks) -> None:
    ConversationAnalysis.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.analyses_sweep()


class TestAnalysis:
    def test_duplicate_events_give_one_analysis_computed_after_the_quiet_period(
        self, deliver, settings, django_capture_on_commit_callbacks
    ):
        settings.ANTHROPIC_API_KEY = ""
        deliver(load_fixture("conversation_create"))
        done = deliver(conversation_event("evt-done", rev=5, minute=10, status="done"))
        deliver(conversation_event("evt-done-resent", rev=5, minute=10, status="done"))
        with django_capture_on_commit_callbacks(execute=True):
            services.analyses_sweep()  # before the quiet period ends: nothing runs
        analysis = ConversationAnalysis.objects.get()
        assert analysis.status == ConversationAnalysis.Status.WAITING
        assert analysis.resolved_at.isoformat() == "2025-06-02T15:10:00+00:00"

        run_due(django_capture_on_commit_callbacks)
        run_due(django_capture_on_commit_callbacks)  # the sweeper and a redelivered task: no change
        services.conversation_analyse(analysis_pk=analysis.pk)
        analysis.refresh_from_db()
        assert ConversationAnalysis.objects.count() == 1
        assert analysis.status == ConversationAnalysis.Status.DONE
        assert analysis.extraction_status == Extraction.WAITING_KEY  # no key: the extracted part waits
        assert (analysis.team, analysis.reopens) == ("6650a1b2c3d4e5f600a1c301", 0)
        assert done.status == WebhookEvent.Status.PROCESSED

    def test_a_reopened_conversation_is_analysed_again_and_history_kept(
        self, deliver, settings, django_capture_on_commit_callbacks
    ):
        settings.INSIGHTS_QUIET_PERIOD_SECONDS = 0
        settings.ANTHROPIC_API_KEY = ""
        deliver(load_fixture("conversation_create"))
        deliver(conversation_event("evt-done-1", rev=5, minute=10, status="done"))
        deliver(conversation_event("evt-reopen", rev=6, minute=20, status="open"))
        deliver(conversation_event("evt-done-2", rev=7, minute=30, status="done"))
        first, second = ConversationAnalysis.objects.order_by("occurrence")
        assert (first.occurrence, first.current, first.reopens) == (1, False, 0)
        assert (second.occurrence, second.current, second.reopens) == (2, True, 1)
        assert second.status == first.status == ConversationAnalysis.Status.DONE
        assert second.effort_score > first.effort_score

    def test_transfers_come_from_the_stored_payloads_in_rev_order(self, deliver, settings):
        settings.INSIGHTS_QUIET_PERIOD_SECONDS = 0
        settings.ANTHROPIC_API_KEY = ""
        # Delivered out of order: rev decides, and the stale one is still a true picture of its moment.
        deliver(
            conversation_event(
                "evt-a", rev=2, minute=1, status="open", assignedTeams=["care"], assignedUsers=[]
            )
        )
        deliver(
            conversation_event(
                "evt-c", rev=4, minute=3, status="open", assignedTeams=["returns"], assignedUsers=["ben"]
            )
        )
        deliver(
            conversation_event(
                "evt-b", rev=3, minute=2, status="open", assignedTeams=["care"], assignedUsers=["ana"]
            )
        )
        deliver(
            conversation_event(
                "evt-d", rev=5, minute=4, status="done", assignedTeams=["returns"], assignedUsers=["ben"]
            )
        )
        analysis = ConversationAnalysis.objects.get()
        assert analysis.transfers == 2  # care -> care/ana -> returns/ben
        assert (analysis.team, analysis.agent) == ("returns", "ben")

    def test_missing_messages_are_fetched_from_kustomer(self, kustomer_sandbox, settings):
        settings.INSIGHTS_QUIET_PERIOD_SECONDS = 0
        settings.ANTHROPIC_API_KEY = ""
        conversation = ConversationFactory(kustomer_id=CONVERSATION_ID, status="done", message_count=1)
        analysis = services.analysis_schedule(conversation=conversation, occurrence=1)
        services.conversation_analyse(analysis_pk=analysis.pk, force=True)
        analysis.refresh_from_db()
        assert analysis.messages_fetched == 1
        assert Message.objects.filter(conversation=conversation, direction="in").count() == 1

    def test_metrics_use_the_mirror_thread(self, settings):
        settings.ANTHROPIC_API_KEY = ""
        start = timezone.now() - timedelta(hours=3)
        conversation = ConversationFactory(status="done", kustomer_created_at=start, message_count=3)
        MessageFactory(conversation=conversation, direction="in", sent_at=start)
        MessageFactory(conversation=conversation, direction="out", sent_at=start + timedelta(minutes=20))
        MessageFactory(
            conversation=conversation,
            direction="out",
            sent_at=start + timedelta(minutes=1),
            created_by=settings.KUSTOMER_MACHINE_USER_ID,  # BearScope's own reply
        )
        analysis = services.analysis_schedule(conversation=conversation, occurrence=1)
        ConversationAnalysis.objects.filter(pk=analysis.pk).update(resolved_at=start + timedelta(hours=1))
        analysis = services.conversation_analyse(analysis_pk=analysis.pk, force=True)
        assert analysis.first_response_seconds == 20 * 60
        assert analysis.customer_wait_seconds == 60  # the auto-reply answered after a minute
        assert (analysis.customer_messages, analysis.agent_messages) == (1, 1)
        assert analysis.auto_reply_involved is True
        assert analysis.resolution_seconds == 3600


class TestExtraction:
    def computed(self, **kwargs) -> ConversationAnalysis:
        analysis = AnalysisFactory(
            extraction_status=Extraction.PENDING,
            root_cause=None,
            resolution_method=None,
            accuracy_score=None,
            tone_score=None,
            summary="",
            **kwargs,
        )
        MessageFactory(conversation=analysis.conversation, body="Where is my order BS-100234?")
        return analysis

    def test_a_valid_answer_is_stored_with_its_cost(self, messages_server):
        messages_server.script(reply_json(VALID_ANSWER))
        analysis = services.analysis_extract(analysis_pk=self.computed().pk)
        assert analysis.extraction_status == Extraction.DONE
        assert (analysis.root_cause.key, analysis.resolution_method.key) == (
            "shipping_delay",
            "information_provided",
        )
        assert (analysis.accuracy_score, analysis.tone_score) == (4, 5)
        assert analysis.tone_evidence == "So sorry for the wait, Maya!"
        assert analysis.cost_usd > 0
        request = messages_server.message_requests[0]["body"]
        assert "Where is my order BS-100234?" in request["messages"][0]["content"]
        assert "shipping_delay" in request["system"][0]["text"]

    @pytest.mark.parametrize(
        ("answer", "reason"),
        [
            ({**VALID_ANSWER, "root_cause": "aliens"}, "Unknown or inactive root cause 'aliens'"),
            ({**VALID_ANSWER, "tone": {"score": 9, "evidence": ""}}, "does not match the schema"),
            ('{"root_cause": "shipping_del', "does not match the schema"),
        ],
    )
    def test_invalid_output_is_flagged_not_dropped(self, messages_server, answer, reason):
        messages_server.script(reply_json(answer))
        analysis = services.analysis_extract(analysis_pk=self.computed().pk)
        assert analysis.extraction_status == Extraction.INVALID
        assert reason in analysis.extraction_error
        assert analysis.raw_output  # kept for review in the admin
        assert analysis.root_cause is None and analysis.tone_score is None
        # A flagged analysis keeps its computed numbers on the dashboards.
        assert analysis.effort_score == Decimal("1.6")

    def test_claude_unavailable_leaves_it_failed_for_the_sweeper(self, messages_server, settings):
        from bearscope.testing.messages_server import error

        settings.LLM_MAX_RETRIES = 0
        messages_server.script(error(529))
        analysis = services.analysis_extract(analysis_pk=self.computed().pk)
        assert analysis.extraction_status == Extraction.FAILED
        assert services.analyses_sweep() == []
        assert services.extractions_sweep() == [analysis.pk]


class TestRollups:
    def test_rollup_matches_a_live_count_and_is_rebuilt_idempotently(self):
        day = timezone.now() - timedelta(days=1)
        AnalysisFactory.create_batch(3, resolved_at=day, agent="ana", tone_score=4)
        AnalysisFactory(resolved_at=day, agent="ben", intent="account_access", effort_score=Decimal("4.5"))
        AnalysisFactory(resolved_at=day, agent="ben", current=False)  # an earlier resolution: not counted
        rollups.rollup_refresh_all()
        rollups.rollup_refresh_all()
        segment = DailyRollup.objects.filter(grain="segment")
        assert sorted(segment.values_list("intent", "conversations")) == [
            ("account_access", 1),
            ("shipping_issue", 3),
        ]
        agents = {r.agent: r for r in DailyRollup.objects.filter(grain="agent")}
        assert (agents["ana"].conversations, agents["ana"].tone_sum, agents["ana"].tone_count) == (3, 12, 3)
        assert agents["ben"].effort_bands == {"very_high": 1}
        assert agents["ana"].root_causes == {"shipping_delay": 3}

    def test_recent_refresh_rebuilds_only_changed_days(self):
        old = AnalysisFactory(resolved_at=timezone.now() - timedelta(days=10))
        rollups.rollup_refresh_all()
        ConversationAnalysis.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=1))
        AnalysisFactory(resolved_at=timezone.now() - timedelta(days=2))
        assert rollups.rollup_refresh_recent() == 1
        assert DailyRollup.objects.filter(grain="segment").count() == 2
        assert Conversation.objects.count() == 2


class TestTasksAndSchedules:
    def test_migrations_schedule_the_sweeper_and_the_rollup_refresh(self):
        from django_q.models import Schedule

        schedules = dict(
            Schedule.objects.filter(func__startswith="intelligence.").values_list("func", "minutes")
        )
        assert schedules == {"intelligence.tasks.sweep": 1, "intelligence.tasks.rollup_refresh": 5}

    def test_tasks_take_ids_and_report(self, settings, messages_server):
        from intelligence import tasks

        settings.ANTHROPIC_API_KEY = ""
        analysis = services.analysis_schedule(conversation=ConversationFactory(status="done"), occurrence=1)
        assert tasks.sweep() == "analyses 0, extractions 0"  # still in its quiet period
        assert tasks.conversation_analyse(analysis.pk) == "waiting"
        ConversationAnalysis.objects.filter(pk=analysis.pk).update(due_at=timezone.now())
        assert tasks.conversation_analyse(analysis.pk) == "done"
        assert tasks.analysis_extract(analysis.pk) == Extraction.WAITING_KEY
        settings.ANTHROPIC_API_KEY = "test"
        messages_server.script(reply_json(VALID_ANSWER))
        assert tasks.analysis_extract(analysis.pk) == Extraction.DONE
        assert tasks.analysis_extract(analysis.pk) == Extraction.DONE  # redelivered: no second call
        assert len(messages_server.message_requests) == 1
        assert tasks.rollup_refresh() == "days 1"


def test_an_extraction_another_worker_is_running_is_left_alone(messages_server):
    analysis = AnalysisFactory(
        extraction_status=Extraction.PENDING, root_cause=None, extraction_started_at=timezone.now()
    )
    assert services.analysis_extract(analysis_pk=analysis.pk).extraction_status == Extraction.PENDING
    assert messages_server.message_requests == []
    ConversationAnalysis.objects.filter(pk=analysis.pk).update(
        # Older than the task timeout: django-q2 has killed that worker.
        extraction_started_at=timezone.now() - task_claim_expiry() - timedelta(seconds=1)
    )
    messages_server.script(reply_json(VALID_ANSWER))
    analysis = services.analysis_extract(analysis_pk=analysis.pk)
    assert (analysis.extraction_status, analysis.extraction_started_at) == (Extraction.DONE, None)
