"""django-q2 entry points of the Kustomer app: take ids, call one service."""

import time
from datetime import timedelta

from django.conf import settings

from bearscope.sweeps import sweep_run

from . import history_import, people, services
from .exceptions import EventProcessingFailed
from .models import ImportRun, WebhookEvent

# A history import slice stops after this share of the task timeout, the page in hand finished.
SLICE_SHARE = 0.5


def webhook_event_process(event_pk: int) -> str:
    """Process one stored webhook event; re-raise only while the event has attempts left."""
    try:
        return services.webhook_event_process(event_pk=event_pk).status
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
        steps=[("events", WebhookEvent, lambda: services.events_sweep(older_than=after))],
    ).summary


def people_sync() -> str:
    """Periodic (hourly) and the admin's button: Kustomer's users and teams, so pages show names."""
    if not settings.KUSTOMER_API_KEY:
        return "skipped: KUSTOMER_API_KEY is not set"
    return people.people_sync().summary


def history_import_run(run_pk: int, slice_number: int = 1) -> str:
    """One slice of a history import, shorter than the task timeout; queues the next while not finished."""
    run = ImportRun.objects.filter(pk=run_pk).first()
    if run is None:
        return "missing"
    try:
        run = history_import.import_run_claim(run=run, worker=True)
        if run.status != ImportRun.Status.RUNNING:
            return run.status
        deadline = time.monotonic() + settings.Q_CLUSTER["timeout"] * SLICE_SHARE
        run = history_import.history_import_run(run=run, deadline=deadline)
    except history_import.ImportRefused as exc:
        # Another import holds the budget's slice: this one waits, stopped, to be started again.
        queued = ImportRun.objects.filter(pk=run_pk, status=ImportRun.Status.QUEUED)
        queued.update(status=ImportRun.Status.STOPPED, error=str(exc))
        return f"refused: {exc}"
    if run.status == ImportRun.Status.RUNNING:
        history_import.import_run_enqueue(run=run, slice_number=slice_number + 1)
    return run.status
