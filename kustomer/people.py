"""Users and teams mirrored from Kustomer (GET /v1/users, /v1/teams), so pages and exports show names."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from bearscope.queue import enqueue_on_commit

from .client import client_get
from .models import Agent, Team
from .payloads import person_fields

SYNC_TASK = "kustomer.tasks.people_sync"
# The largest page Kustomer serves for users and teams: the fewest calls on the org's budget.
PAGE_SIZE = 500
USER_FIELDS = ("name", "display_name", "email", "user_type")
TEAM_FIELDS = ("name", "display_name")


@dataclass(frozen=True)
class Mirrored:
    """What one sync did to one kind: how many Kustomer listed, new to us, and changed (renamed)."""

    listed: int
    created: int
    changed: int

    def __str__(self) -> str:
        return f"{self.listed} ({self.created} new, {self.changed} changed)"


@dataclass(frozen=True)
class PeopleSynced:
    users: Mirrored
    teams: Mirrored

    @property
    def summary(self) -> str:
        return f"users {self.users}, teams {self.teams}"


def people_sync(*, page_size: int = PAGE_SIZE) -> PeopleSynced:
    """Mirror every Kustomer user and team: new ones added, renamed ones updated, none removed.

    Someone gone from Kustomer keeps their row (old conversations still name them) and its
    `synced_at` stops moving. Both lists are read before anything is written, so no row lock
    waits on Kustomer.
    """
    client = client_get()
    users = list(client.people_list("users", page_size=page_size))
    teams = list(client.people_list("teams", page_size=page_size))
    now = timezone.now()
    with transaction.atomic():
        return PeopleSynced(
            users=_mirror(Agent, users, USER_FIELDS, now),
            teams=_mirror(Team, teams, TEAM_FIELDS, now),
        )


def people_sync_enqueue() -> None:
    """Sync users and teams on a worker once the current transaction commits (the admin's button)."""
    enqueue_on_commit(SYNC_TASK, task_name="people-sync")


def _mirror(model: type[Agent | Team], resources: Iterable[dict], fields: tuple[str, ...], now) -> Mirrored:
    # Keyed by id: a list that shifts between pages may show someone twice.
    listed = {row["kustomer_id"]: row for row in map(person_fields, resources) if row["kustomer_id"]}
    known = {row.kustomer_id: row for row in model.objects.filter(kustomer_id__in=listed)}
    created, changed = [], []
    for kustomer_id, row in listed.items():
        values = {field: row[field] for field in fields}
        current = known.get(kustomer_id)
        if current is None:
            created.append(model(kustomer_id=kustomer_id, synced_at=now, **values))
            continue
        if any(getattr(current, field) != value for field, value in values.items()):
            changed.append(current)
            for field, value in values.items():
                setattr(current, field, value)
            current.updated_at = now  # bulk_update skips auto_now
    model.objects.bulk_create(created, batch_size=500)
    model.objects.bulk_update(changed, [*fields, "updated_at"], batch_size=500)
    model.objects.filter(kustomer_id__in=listed).update(synced_at=now)
    return Mirrored(listed=len(listed), created=len(created), changed=len(changed))
