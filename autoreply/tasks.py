"""django-q2 entry points of the auto-reply pipeline: take ids, call one service."""

from bearscope.sweeps import sweep_run
from classification.models import Classification

from . import services
from .models import AutoReply, Escalation


def classification_autoreply(classification_pk: int) -> str:
    decision = services.classification_autoreply(classification_id=classification_pk)
    return f"{decision.verdict} {decision.reason or decision.mode}" if decision else "not decided"


def reply_deliver(reply_pk: int) -> str:
    return services.reply_deliver(reply_id=reply_pk).state


def escalation_apply(escalation_pk: int) -> str:
    escalation = services.escalation_apply(escalation_id=escalation_pk)
    return "done" if escalation.flagged and escalation.note_id else f"unfinished: {escalation.error[:200]}"


def sweep() -> str:
    """Periodic: classifications still undecided, replies left pending, sending or unknown, escalations
    not fully written."""
    return sweep_run(
        sweeper="Auto-reply sweeper",
        steps=[
            ("classifications to decide", Classification, services.decisions_sweep),
            ("replies", AutoReply, services.replies_sweep),
            ("escalations", Escalation, services.escalations_sweep),
        ],
    ).summary
