"""Reads of the Kustomer app: what became of the stored webhook events, what they showed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, Max, Min

from .models import Agent, Conversation, Team, WebhookEvent
from .payloads import AssignmentSnapshot, assignment_snapshot


def event_counts() -> dict[str, int]:
    """Stored webhook events per status, every status named (zero included)."""
    found = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in WebhookEvent.Status.values}


def conversation_span() -> tuple[date, date] | None:
    """The first and last day a mirrored conversation was created in Kustomer; None with none."""
    span = Conversation.objects.aggregate(first=Min("kustomer_created_at"), last=Max("kustomer_created_at"))
    if span["first"] is None:
        return None
    return span["first"].date(), span["last"].date()


@dataclass(frozen=True)
class ConnectionStatus:
    """What the home page says about the link to Kustomer, without calling Kustomer."""

    api_key_set: bool
    secret_set: bool
    last_event_at: datetime | None
    failed_events: int


def connection_status() -> ConnectionStatus:
    # The newest row by primary key: an index read even with millions of events.
    last = WebhookEvent.objects.order_by("-pk").values_list("received_at", flat=True).first()
    return ConnectionStatus(
        api_key_set=bool(settings.KUSTOMER_API_KEY),
        secret_set=bool(settings.KUSTOMER_WEBHOOK_SECRET),
        last_event_at=last,
        failed_events=WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count(),
    )


def assignment_snapshots(
    *, org: str, conversation_kustomer_id: str, until: datetime | None = None
) -> list[AssignmentSnapshot]:
    """Assigned teams and users as each stored conversation payload showed them, oldest first.

    Read from the raw webhook events (duplicates, stale and ignored ones too: each is a true
    picture of some moment), ordered by Kustomer's rev, then updatedAt; later than `until` left out.
    """
    bodies = WebhookEvent.objects.filter(
        org=org, conversation_id=conversation_kustomer_id, name__startswith="kustomer.conversation."
    ).values_list("body", flat=True)
    snapshots = [snapshot for body in bodies if (snapshot := assignment_snapshot(body)) is not None]
    if until is not None:
        snapshots = [s for s in snapshots if s.updated_at is None or s.updated_at <= until]
    return sorted(snapshots, key=lambda s: (s.rev, s.updated_at.timestamp() if s.updated_at else 0.0))


# --- People: names for Kustomer user and team ids (every page and CSV shows people this way) ---


@dataclass(frozen=True)
class PersonName:
    """How a page or an export names a Kustomer user or team; `str()` is the name to show."""

    kustomer_id: str
    kind: str  # "agent" or "team"
    name: str
    known: bool
    email: str = ""

    def __str__(self) -> str:
        return self.name


def people_names(*, user_ids: Iterable[str] = (), team_ids: Iterable[str] = ()) -> dict[str, PersonName]:
    """A name for every id asked (empty ids skipped), in two queries.

    An id the mirror does not know (not synced yet, or never a user) still gets an entry, marked
    unknown with its whole id: Kustomer ids start with a timestamp, so a prefix looks alike.
    """
    user_ids, team_ids = {i for i in user_ids if i}, {i for i in team_ids if i}
    names: dict[str, PersonName] = {}
    for kind, model, ids in (("agent", Agent, user_ids), ("team", Team, team_ids)):
        found = {row.kustomer_id: row for row in model.objects.filter(kustomer_id__in=ids)} if ids else {}
        for kustomer_id in ids:
            row = found.get(kustomer_id)
            shown = (row.name or row.display_name or getattr(row, "email", "")) if row else ""
            names[kustomer_id] = PersonName(
                kustomer_id=kustomer_id,
                kind=kind,
                name=shown or f"Unknown {kind} ({kustomer_id})",
                known=bool(shown),
                email=getattr(row, "email", "") if row else "",
            )
    return names
