"""Reads of the Kustomer app: what became of the stored webhook events."""

from django.db.models import Count

from .models import WebhookEvent


def event_counts() -> dict[str, int]:
    """Stored webhook events per status, every status named (zero included)."""
    found = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in WebhookEvent.Status.values}
