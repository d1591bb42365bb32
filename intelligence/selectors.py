"""Reads of the intelligence pipeline: assignment history, intent, and the home page's line on insights."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from bearscope.llm import llm_configured
from classification.models import Classification
from kustomer.models import Conversation
from kustomer.selectors import assignment_snapshots

from .metrics import AssignmentState
from .models import ConversationAnalysis


def assignment_history(*, conversation: Conversation, until: datetime | None = None) -> list[AssignmentState]:
    """Assigned teams and users as each stored conversation payload showed them, oldest first."""
    return [
        AssignmentState(teams=snapshot.teams, users=snapshot.users)
        for snapshot in assignment_snapshots(
            org=conversation.org, conversation_kustomer_id=conversation.kustomer_id, until=until
        )
    ]


def conversation_intent(*, conversation_pk: int) -> tuple[str, str]:
    """(intent key, route) of the current classification; the reviewer's intent wins over the AI's."""
    classification = (
        Classification.objects.filter(conversation_id=conversation_pk, current=True)
        .select_related("intent", "review__intent")
        .first()
    )
    if classification is None:
        return "", ""
    review = getattr(classification, "review", None)
    intent = review.intent if review else classification.intent
    return (intent.key if intent else ""), classification.route


@dataclass(frozen=True)
class InsightsLatest:
    """The home page's line on insights: the last week's resolved conversations, and what waits."""

    resolved_week: int
    last_resolved_at: datetime | None
    waiting: int
    waiting_for_key: int
    key_set: bool


def insights_latest() -> InsightsLatest:
    current = ConversationAnalysis.objects.filter(current=True)
    done = current.filter(status=ConversationAnalysis.Status.DONE)
    return InsightsLatest(
        resolved_week=done.filter(resolved_at__gte=timezone.now() - timedelta(days=7)).count(),
        last_resolved_at=done.order_by("-resolved_at").values_list("resolved_at", flat=True).first(),
        waiting=current.filter(status=ConversationAnalysis.Status.WAITING).count(),
        waiting_for_key=done.filter(extraction_status=ConversationAnalysis.Extraction.WAITING_KEY).count(),
        key_set=llm_configured(),
    )
