"""django-q2 entry points of the Kustomer app: take ids, call one service."""

from datetime import timedelta

from django.conf import settings

from bearscope import task_results

from .exceptions import EventProcessingFailed
from .models import WebhookEvent
from .services import events_sweep
from .services import webhook_event_process as process
from .sweeps import sweep_run, sweep_runs_prune


def webhook_event_process(event_pk: int) -> str:
    """Process one stored webhook event; re-raise only while the event has attempts left."""
    try:
        return process(event_id=event_pk).status
    except WebhookEvent.DoesNotExist:
        return "missing"
    except EventProcessingFailed as exc:
        if exc.retryable:
            raise
        return "failed"


def sweep() -> str:
    """Periodic: events stored but not processed after KUSTOMER_EVENT_SWEEP_MINUTES."""
    after = timedelta(minutes=settings.KUSTOMER_EVENT_SWEEP_MINUTES)
    return sweep_run(
        sweeper="Webhook event sweeper",
        steps=[("events", WebhookEvent, lambda: events_sweep(older_than=after))],
    ).summary


def task_results_prune() -> str:
    """Daily: drop successful task results and sweeper runs older than Q_RESULT_DAYS."""
    older_than = timedelta(days=settings.Q_RESULT_DAYS)
    results = task_results.task_results_prune(older_than=older_than)
    runs = sweep_runs_prune(older_than=older_than)
    return f"deleted {results} task results, {runs} sweeper runs"
