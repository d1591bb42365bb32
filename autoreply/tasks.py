"""django-q2 entry points of the auto-reply pipeline: take ids, call one service."""

from bearscope.sweeps import sweep_run
from classification.models import Classification, TriageReview

from .models import AutoReply, Escalation
from .services import deciding, delivery, escalation


def classification_autoreply(classification_pk: int) -> str:
    decision = deciding.classification_autoreply(classification_pk=classification_pk)
    return f"{decision.verdict} {decision.reason or decision.mode}" if decision else "not decided"


def review_autoreply(review_pk: int) -> str:
    decision = deciding.review_autoreply(review_pk=review_pk)
    return f"{decision.verdict} {decision.reason or decision.mode}" if decision else "not decided"


def reply_deliver(reply_pk: int) -> str:
    return delivery.reply_deliver(reply_pk=reply_pk).state


def escalation_apply(escalation_pk: int) -> str:
    applied = escalation.escalation_apply(escalation_pk=escalation_pk)
    return "done" if applied.flagged and applied.note_id else f"unfinished: {applied.error[:200]}"


def sweep() -> str:
    """Periodic: classifications still undecided, replies left pending, sending or unknown, escalations
    not fully written."""
    return sweep_run(
        sweeper="Auto-reply sweeper",
        steps=[
            ("classifications to decide", Classification, deciding.decisions_sweep),
            ("triage reviews to decide", TriageReview, deciding.review_decisions_sweep),
            ("replies", AutoReply, delivery.replies_sweep),
            ("escalations", Escalation, escalation.escalations_sweep),
        ],
    ).summary
