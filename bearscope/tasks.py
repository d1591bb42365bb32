"""django-q2 entry points of the ground floor: housekeeping every app shares."""

from datetime import timedelta

from django.conf import settings

from . import retention, sweeps, task_results


def task_results_prune() -> str:
    """Daily: drop successful task results and sweeper runs older than Q_RESULT_DAYS."""
    older_than = timedelta(days=settings.Q_RESULT_DAYS)
    results = task_results.task_results_prune(older_than=older_than)
    runs = sweeps.sweep_runs_prune(older_than=older_than)
    return f"deleted {results} task results, {runs} sweeper runs"


def pii_prune() -> str:
    """Hourly: blank raw webhook bodies and prompt inputs older than PII_RETENTION_DAYS; the rows stay."""
    steps = retention.pii_prune_steps(older_than=timedelta(days=settings.PII_RETENTION_DAYS))
    return sweeps.sweep_run(sweeper="Personal data pruning", steps=steps).summary
