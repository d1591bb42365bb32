"""django-q2 entry points of the intelligence pipeline: take ids, call one service."""

from . import rollups, services


def conversation_analyse(analysis_pk: int) -> str:
    return services.conversation_analyse(analysis_id=analysis_pk).status


def analysis_extract(analysis_pk: int) -> str:
    return services.analysis_extract(analysis_id=analysis_pk).extraction_status


def sweep() -> str:
    """Periodic: analyses whose quiet period is over, extractions pending or failed."""
    due, extractions = services.analyses_sweep()
    return f"analyses {due}, extractions {extractions}"


def rollup_refresh() -> str:
    """Periodic: rebuild the dashboard rollups of the days whose analyses changed."""
    return f"days {rollups.rollup_refresh_recent()}"
