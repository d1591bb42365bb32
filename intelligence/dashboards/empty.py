"""Why a dashboard panel is empty and what to do about it, in the ops leader's words."""

from django.conf import settings
from django.db.models import Q

from bearscope.llm import llm_configured

from .. import autoreplies
from ..models import ConversationAnalysis
from ..rollups import analyses_counted
from .filters import Filters
from .panels import Panel, analyses_in

# Panels whose figures come from Claude reading each resolved conversation.
CLAUDE_PANELS = {"root_causes", "resolution_methods"}
# Panels counted from something else than resolved conversations; their own text stays.
OWN_TEXT_PANELS = {"backlog", "agreement"}
REFRESH_NOTE = "the figures refresh every 5 minutes"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


def _resolved_reason(filters: Filters) -> str:
    """Why no resolved conversation shows: none analysed yet, none in the range, or not refreshed yet."""
    narrowed = " with these filters" if filters.dimensions else ""
    if not analyses_counted().exists():
        waiting = ConversationAnalysis.objects.filter(
            current=True, status=ConversationAnalysis.Status.WAITING
        ).count()
        quiet = _minutes(settings.INSIGHTS_QUIET_PERIOD_SECONDS)
        are = "s are" if waiting != 1 else " is"
        soon = f" {waiting} resolved conversation{are} waiting for it now." if waiting else ""
        return (
            f"No resolved conversation has been analysed yet: each one is analysed {quiet} after it is "
            f"resolved in Kustomer, and {REFRESH_NOTE}.{soon}"
        )
    found = analyses_in(filters).count()
    if not found:
        return (
            f"Nothing was resolved from {filters.start} to {filters.end}{narrowed}. "
            "Widen the date range or clear the filters."
        )
    return (
        f"{found} conversation{'s' if found != 1 else ''} resolved in this range "
        f"{'are' if found != 1 else 'is'} not counted yet: {REFRESH_NOTE}."
    )


def _claude_reason(filters: Filters) -> str:
    if llm_configured():
        pending = analyses_in(filters).filter(
            Q(extraction_status=ConversationAnalysis.Extraction.PENDING)
            | Q(extraction_status=ConversationAnalysis.Extraction.SUBMITTED)
        )
        if pending.exists():
            return "Claude is still reading the conversations resolved in this range; " + REFRESH_NOTE + "."
        return ""
    return (
        "Root causes and resolution methods come from Claude reading each resolved conversation, and "
        "no ANTHROPIC_API_KEY is set: an administrator sets it, and the conversations waiting are read."
    )


def _autoreply_reason(filters: Filters) -> str:
    if filters.intent and not autoreplies.policy_exists(intent=filters.intent):
        return (
            "This intent has no auto-reply policy, so BearScope never prepares a reply for it. An ops "
            "leader adds one in the admin (Auto-reply > Auto-reply policies), in shadow mode first."
        )
    return (
        f"No auto-reply decision from {filters.start} to {filters.end}: one is made for each conversation "
        "classified in the range. Widen the date range, or check that conversations arrive (the triage "
        "queue and the admin's Connection page)."
    )


def panels_explain(panels: list[Panel], filters: Filters) -> None:
    """Give every empty panel the reason it is empty and what to do."""
    resolved = None
    for panel in panels:
        if panel.rows or panel.key in OWN_TEXT_PANELS:
            continue
        if panel.key == "autoreply":
            panel.empty = _autoreply_reason(filters)
            continue
        if resolved is None:
            resolved = _resolved_reason(filters)
        reason = resolved
        if panel.key in CLAUDE_PANELS and analyses_in(filters).exists():
            reason = _claude_reason(filters) or resolved
        panel.empty = reason
