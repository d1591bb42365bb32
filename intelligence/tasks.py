"""django-q2 entry points of the intelligence pipeline: take ids, call one service."""

from bearscope.sweeps import sweep_run

from . import rollups, services
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
    from .backtests.running import backtest_run as run

    return run(backtest_pk=backtest_pk).status
