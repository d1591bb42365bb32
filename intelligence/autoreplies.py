"""Reads of the auto-reply pipeline for the analysis and the dashboards."""

from django.db.models import Count, QuerySet

from autoreply.models import AutoReply, AutoReplyDecision, AutoReplyPolicy

# A reply the customer saw or an agent was handed; shadow replies never reach the conversation.
INVOLVED_STATES = (AutoReply.State.SENT, AutoReply.State.STAGED, AutoReply.State.UNKNOWN)
NOT_GRADED = "not graded"


def auto_reply_recorded(*, conversation_pk: int) -> bool:
    """Whether BearScope sent (or staged, or may have sent) a reply on the conversation."""
    return AutoReply.objects.filter(conversation_id=conversation_pk, state__in=INVOLVED_STATES).exists()


def decisions_between(low, high, *, intent: str = "") -> QuerySet[AutoReplyDecision]:
    """Decisions made in [low, high); of one intent (its key) when given."""
    decisions = AutoReplyDecision.objects.filter(created_at__gte=low, created_at__lt=high)
    return decisions.filter(classification__intent__key=intent) if intent else decisions


def policy_exists(*, intent: str) -> bool:
    """Whether the intent (its key) or one of its sub-intents has an auto-reply policy."""
    return AutoReplyPolicy.objects.filter(intent__key=intent).exists()


def outcome_counts(low, high, *, intent: str = "") -> list[dict]:
    """Decisions per (mode, verdict, shadow grade); the grade is NOT_GRADED when there is none."""
    decisions = decisions_between(low, high, intent=intent)
    rows = decisions.values("mode", "verdict", "review__grade").annotate(n=Count("pk"))
    counts = [
        {"mode": r["mode"], "verdict": r["verdict"], "grade": r["review__grade"] or NOT_GRADED, "n": r["n"]}
        for r in rows.order_by()
    ]
    # Sorted here: databases disagree on where an empty grade sorts.
    return sorted(counts, key=lambda r: (r["mode"], r["verdict"], r["grade"]))


def decisions_for(
    low, high, *, intent: str = "", mode: str = "", verdict: str = "", grade: str = ""
) -> QuerySet:
    """The decisions behind one row of outcome_counts, newest first."""
    decisions = decisions_between(low, high, intent=intent).select_related("conversation")
    if mode:
        decisions = decisions.filter(mode=mode)
    if verdict:
        decisions = decisions.filter(verdict=verdict)
    if grade == NOT_GRADED:
        decisions = decisions.filter(review__isnull=True)
    elif grade:
        decisions = decisions.filter(review__grade=grade)
    return decisions.order_by("-created_at")
