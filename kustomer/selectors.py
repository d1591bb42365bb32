"""Reads of the Kustomer app: what became of the stored webhook events, what they showed."""

from datetime import datetime

from django.db.models import Count

from .models import WebhookEvent
from .payloads import AssignmentSnapshot, assignment_snapshot


def event_counts() -> dict[str, int]:
    """Stored webhook events per status, every status named (zero included)."""
    found = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in WebhookEvent.Status.values}


def assignment_snapshots(
    *, conversation_kustomer_id: str, until: datetime | None = None
) -> list[AssignmentSnapshot]:
    """Assigned teams and users as each stored conversation payload showed them, oldest first.

    Read from the raw webhook events (duplicates, stale and ignored ones too: each is a true
    picture of some moment), ordered by Kustomer's rev, then updatedAt; later than `until` left out.
    """
    bodies = WebhookEvent.objects.filter(
        conversation_id=conversation_kustomer_id, name__startswith="kustomer.conversation."
    ).values_list("body", flat=True)
    snapshots = [snapshot for body in bodies if (snapshot := assignment_snapshot(body)) is not None]
    if until is not None:
        snapshots = [s for s in snapshots if s.updated_at is None or s.updated_at <= until]
    return sorted(snapshots, key=lambda s: (s.rev, s.updated_at.timestamp() if s.updated_at else 0.0))
