"""django-q2 entry points of the intelligence pipeline: take ids, call one service."""

from bearscope.sweeps import sweep_run

from . import rollups, services
from .backtests import running
from .models import ConversationAnalysis


def conversation_analyse(analysis_pk: int) -> str:
    return services.conversation_analyse(analysis_pk=analysis_pk).status


def analysis_extract(analysis_pk: int) -> str:
    return services.analysis_extract(analysis_pk=analysis_pk).extraction_status


def sweep() -> str:
    """Periodic: analyses whose quiet period is over, extractions pending or failed."""
    return sweep_run(
        sweeper="Insights sweeper",
        steps=[
            ("analyses", ConversationAnalysis, services.analyses_sweep),
            ("extractions", ConversationAnalysis, services.extractions_sweep),
        ],
    ).summary


def rollup_refresh() -> str:
    """Periodic: rebuild the dashboard rollups of the days whose analyses changed."""
    return f"days {rollups.rollup_refresh_recent()}"


def backtest_run(backtest_pk: int) -> str:
    """A share of a backtest's work, then the next task goes on (a task must end before the timeout)."""
    backtest = running.backtest_run(backtest_pk=backtest_pk, time_budget=running.WORKER_SECONDS)
    if backtest.status == backtest.Status.RUNNING and backtest.lease_until is None:
        running.backtest_enqueue(backtest=backtest)
    return f"{backtest.status}: {backtest.processed} of {backtest.total}"
