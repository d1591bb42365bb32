"""Reads of the intelligence pipeline: a conversation's assignment history and its intent."""

from datetime import datetime

from classification.models import Classification
from kustomer.models import Conversation
from kustomer.selectors import assignment_snapshots

from .metrics import AssignmentState


def assignment_history(*, conversation: Conversation, until: datetime | None = None) -> list[AssignmentState]:
    """Assigned teams and users as each stored conversation payload showed them, oldest first."""
    return [
        AssignmentState(teams=snapshot.teams, users=snapshot.users)
        for snapshot in assignment_snapshots(conversation_kustomer_id=conversation.kustomer_id, until=until)
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
