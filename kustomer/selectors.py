"""Reads of the Kustomer app: what became of the stored webhook events."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from .models import Agent, Team, WebhookEvent


def event_counts() -> dict[str, int]:
    """Stored webhook events per status, every status named (zero included)."""
    found = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in WebhookEvent.Status.values}


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
