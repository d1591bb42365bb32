"""Starting, resuming, stopping and summing up history imports (ImportRun rows)."""

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bearscope.exceptions import BearScopeError
from bearscope.queue import enqueue_on_commit

from ..models import ImportRun

RUN_TASK = "kustomer.tasks.history_import_run"
# A run whose last progress is newer than this is being worked on (by a worker or a terminal).
LIVE_CLAIM = timedelta(minutes=3)
UNFINISHED = (
    ImportRun.Status.QUEUED,
    ImportRun.Status.RUNNING,
    ImportRun.Status.STOPPED,
    ImportRun.Status.FAILED,
)


class ImportRefused(BearScopeError):
    """A history import that cannot start or go on; the message says why in one line."""


def import_range_check(*, since: date, until: date | None, share: float) -> None:
    """Refuse a range or share that makes no sense, and an unconfigured Kustomer connection."""
    today = timezone.now().date()
    if since > today:
        raise ImportRefused(f"The first day ({since.isoformat()}) is in the future.")
    if until is not None and until < since:
        raise ImportRefused(f"The last day ({until.isoformat()}) is before the first ({since.isoformat()}).")
    if not 0 < share <= 1:
        raise ImportRefused(f"The budget share must be above 0 and at most 1, not {share:g}.")
    if not settings.KUSTOMER_API_KEY:
        raise ImportRefused(
            "Kustomer is not configured: set KUSTOMER_API_KEY (see docs/connecting-kustomer.md)."
        )


def range_bounds(*, since: date, until: date | None) -> tuple[datetime, datetime]:
    """The first and last moment searched: whole UTC days, up to now when `until` is today or open."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    now = timezone.now()
    end = now if until is None else min(datetime.combine(until, time.max, tzinfo=UTC), now)
    return start, end


def import_run_get_or_create(*, since: date, until: date | None, share: float, started_by: str) -> ImportRun:
    """The unfinished run over this range, to resume with the share given now, else a new one.

    Refused while any run is being worked on, so two imports never share the budget's slice.
    """
    import_range_check(since=since, until=until, share=share)
    with transaction.atomic():
        if (busy := _busy().select_for_update().first()) is not None:
            raise ImportRefused(
                f"{busy} is running (last progress {_ago(busy.heartbeat_at)}); wait or stop it."
            )
        run = (
            ImportRun.objects.select_for_update()
            .filter(since=since, until=until, status__in=UNFINISHED)
            .order_by("-created_at")
            .first()
        )
        if run is None:
            start, end = range_bounds(since=since, until=until)
            run = ImportRun.objects.create(
                since=since, until=until, ends_at=end, cursor=start, budget_share=share, started_by=started_by
            )
        else:
            run.budget_share = share
            run.save(update_fields=["budget_share", "updated_at"])
    return run


def import_run_claim(*, run: ImportRun, worker: bool = False) -> ImportRun:
    """Mark the run running now; refused while another run (or this one, elsewhere) is worked on.

    `worker`: a queued slice, which goes on only while the run is queued or running (the admin may
    have stopped it in between), and whose own fresh progress is no rival.
    """
    with transaction.atomic():
        rivals = _busy().exclude(pk=run.pk) if worker else _busy()
        if (rival := rivals.select_for_update().first()) is not None:
            raise ImportRefused(f"{rival} is running (last progress {_ago(rival.heartbeat_at)}).")
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.status == ImportRun.Status.DONE:
            return run
        if worker and run.status not in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
            return run
        run.status, run.error, run.heartbeat_at = ImportRun.Status.RUNNING, "", timezone.now()
        run.save(update_fields=["status", "error", "heartbeat_at", "updated_at"])
    return run


def import_runs_queue(*, runs) -> int:
    """Start or resume unfinished imports on a worker (the admin's form and action); returns how many."""
    count = 0
    with transaction.atomic():
        for run in runs.filter(status__in=UNFINISHED).exclude(pk__in=_busy().values("pk")):
            ImportRun.objects.filter(pk=run.pk).update(
                status=ImportRun.Status.QUEUED, updated_at=timezone.now()
            )
            import_run_enqueue(run=run)
            count += 1
    return count


def import_run_enqueue(*, run: ImportRun, slice_number: int = 1) -> None:
    """Run (or go on with) the import on a worker once the current transaction commits."""
    enqueue_on_commit(RUN_TASK, run.pk, slice_number, task_name=f"history-import-{run.pk}-{slice_number}")


def import_runs_stop(*, runs) -> int:
    """Ask running or queued imports to stop after the conversation at hand (the admin's action)."""
    active = [ImportRun.Status.QUEUED, ImportRun.Status.RUNNING]
    return runs.filter(status__in=active).update(status=ImportRun.Status.STOPPED, updated_at=timezone.now())


def import_summary(run: ImportRun) -> str:
    """What the run copied, in one paragraph for the terminal and the admin."""
    return (
        f"Conversations: {run.conversations_imported} imported, {run.conversations_updated} updated, "
        f"{run.conversations_present} already there. "
        f"Messages: {run.messages_imported} imported, {run.messages_present} already there. "
        f"Customers: {run.customers_imported} imported, {run.customers_present} already there. "
        f"Requests to Kustomer: {run.requests}."
    )


def import_busy() -> ImportRun | None:
    """The run being worked on now, if any: only one import runs at a time."""
    return _busy().first()


def _busy():
    fresh = timezone.now() - LIVE_CLAIM
    return ImportRun.objects.filter(status=ImportRun.Status.RUNNING, heartbeat_at__gte=fresh)


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return f"{int((timezone.now() - moment).total_seconds())} s ago"
