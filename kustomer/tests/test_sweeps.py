"""The webhook event sweeper queues stuck events again, and every sweeper's run is recorded for the admin."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from bearscope.models import SweepRun
from bearscope.sweeps import sweep_run, sweep_runs_prune
from kustomer import tasks
from kustomer.models import Conversation, WebhookEvent
from kustomer.services import events_sweep

from .factories import WebhookEventFactory
from .helpers import post_webhook
from .test_processing import fixture

pytestmark = pytest.mark.django_db


def received_but_never_queued(client: Client, django_capture_on_commit_callbacks) -> WebhookEvent:
    """A stored event whose processing task was lost (its on-commit enqueue never ran)."""
    with django_capture_on_commit_callbacks(execute=False):
        assert post_webhook(client, fixture("conversation_create")).status_code == 200
    return WebhookEvent.objects.get()


def age(event: WebhookEvent, minutes: int) -> None:
    past = timezone.now() - timedelta(minutes=minutes)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=past, updated_at=past)


class TestEventsSweep:
    def test_a_lost_event_is_processed_once_it_is_older_than_the_setting(
        self, client, settings, django_capture_on_commit_callbacks
    ):
        settings.KUSTOMER_EVENT_SWEEP_MINUTES = 5
        event = received_but_never_queued(client, django_capture_on_commit_callbacks)
        assert tasks.sweep() == "events 0"  # fresh: its own task may still be on the way
        age(event, minutes=6)
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sweep() == "events 1"
        event.refresh_from_db()
        assert event.status == WebhookEvent.Status.PROCESSED
        assert Conversation.objects.filter(kustomer_id=event.conversation_id).exists()
        assert tasks.sweep() == "events 0"  # processed: never again

    def test_failed_events_are_retried_only_while_attempts_remain(self, settings):
        settings.KUSTOMER_EVENT_MAX_ATTEMPTS = 3
        retry = WebhookEventFactory(status=WebhookEvent.Status.FAILED, attempts=2)
        WebhookEventFactory(
            status=WebhookEvent.Status.FAILED, attempts=3
        )  # given up: the admin's to reprocess
        ignored = WebhookEventFactory(name="kustomer.user.update", status=WebhookEvent.Status.IGNORED)
        for event in WebhookEvent.objects.all():
            age(event, minutes=30)
        assert events_sweep(older_than=timedelta(minutes=5)) == [retry.pk]
        assert ignored.pk not in events_sweep(older_than=timedelta(0))


class TestSweepRuns:
    def test_each_run_records_what_it_queued_and_a_failing_step_does_not_stop_the_others(self):
        def broken() -> list[int]:
            raise RuntimeError("database went away")

        run = sweep_run(
            sweeper="Test sweeper",
            steps=[("broken step", Conversation, broken), ("events", WebhookEvent, lambda: [7, 9])],
        )
        assert run.total == 2
        assert run.requeued == [{"kind": "events", "model": "kustomer.webhookevent", "ids": [7, 9]}]
        assert "broken step: RuntimeError: database went away" in run.error
        assert run.summary == "events 2"

    def test_every_pipeline_sweeper_records_its_run(self, settings):
        from autoreply import tasks as autoreply_tasks
        from classification import tasks as classification_tasks
        from intelligence import tasks as intelligence_tasks

        settings.ANTHROPIC_API_KEY = ""
        for task in (
            tasks.sweep,
            classification_tasks.sweep,
            autoreply_tasks.sweep,
            intelligence_tasks.sweep,
        ):
            task()
        assert set(SweepRun.objects.values_list("sweeper", flat=True)) == {
            "Webhook event sweeper",
            "Classification sweeper",
            "Auto-reply sweeper",
            "Insights sweeper",
        }
        assert classification_tasks.sweep() == (
            "conversations to classify 0, write-backs 0, re-classifications due 0"
        )

    def test_the_sweeper_is_scheduled_and_old_runs_are_pruned(self):
        assert Schedule.objects.get(func="kustomer.tasks.sweep").minutes == 2
        old = SweepRun.objects.create(sweeper="Old", started_at=timezone.now() - timedelta(days=8))
        recent = SweepRun.objects.create(sweeper="Recent", started_at=timezone.now())
        assert sweep_runs_prune(older_than=timedelta(days=7)) == 1
        assert list(SweepRun.objects.all()) == [recent]
        assert not SweepRun.objects.filter(pk=old.pk).exists()


def test_the_admin_lists_runs_and_links_what_was_queued_again():
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
    admin = Client()
    admin.force_login(user)
    event = WebhookEvent.objects.create(
        event_id="evt-stuck", name="kustomer.conversation.create", body="{}", received_at=timezone.now()
    )
    busy = sweep_run(sweeper="Webhook event sweeper", steps=[("events", WebhookEvent, lambda: [event.pk])])
    sweep_run(sweeper="Classification sweeper", steps=[])
    page = admin.get("/admin/bearscope/sweeprun/", {"outcome": "requeued"}).content.decode()
    assert '<td class="field-summary">events 1</td>' in page
    assert "nothing to do" not in page  # the idle run is filtered out
    detail = admin.get(f"/admin/bearscope/sweeprun/{busy.pk}/change/").content.decode()
    assert f'href="/admin/kustomer/webhookevent/{event.pk}/change/"' in detail
    assert admin.post(f"/admin/bearscope/sweeprun/{busy.pk}/change/", {}).status_code == 403
