"""django-q2 entry points of the Kustomer app: take ids, call one service."""

from datetime import timedelta

from django.conf import settings

from bearscope.sweeps import sweep_run

from . import people, services
from .exceptions import EventProcessingFailed
from .models import WebhookEvent


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
