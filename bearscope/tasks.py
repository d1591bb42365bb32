"""django-q2 entry points of the ground floor: housekeeping every app shares."""

from datetime import timedelta

from django.conf import settings

from . import sweeps, task_results


def task_results_prune() -> str:
    """Daily: drop successful task results and sweeper runs older than Q_RESULT_DAYS."""
    older_than = timedelta(days=settings.Q_RESULT_DAYS)
    results = task_results.task_results_prune(older_than=older_than)
    runs = sweeps.sweep_runs_prune(older_than=older_than)
    return f"deleted {results} task results, {runs} sweeper runs"
