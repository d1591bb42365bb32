"""django-q2 entry points of the Kustomer app: take ids, call one service."""

from datetime import timedelta

from django.conf import settings

from bearscope import task_results

from .exceptions import EventProcessingFailed
from .models import WebhookEvent
from .services import webhook_event_process as process


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


def task_results_prune() -> str:
    """Daily: drop successful task results older than Q_RESULT_DAYS."""
    deleted = task_results.task_results_prune(older_than=timedelta(days=settings.Q_RESULT_DAYS))
    return f"deleted {deleted}"
