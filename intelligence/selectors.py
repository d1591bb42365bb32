"""Reads of the intelligence pipeline: a conversation's assignment history and its intent."""

import json
from datetime import datetime

from classification.models import Classification
from kustomer.models import Conversation, WebhookEvent
from kustomer.payloads import as_datetime, as_dict, as_int, as_list, as_str

from .metrics import AssignmentState


def assignment_history(*, conversation: Conversation, until: datetime | None = None) -> list[AssignmentState]:
    """Assigned teams and users as each stored conversation payload showed them, oldest first.

    Read from the raw webhook events (duplicates, stale and ignored ones too: each is a true
    picture of some moment), ordered by Kustomer's rev, then updatedAt.
    """
    bodies = WebhookEvent.objects.filter(
        conversation_id=conversation.kustomer_id, name__startswith="kustomer.conversation."
    ).values_list("body", flat=True)
    snapshots = []
    for body in bodies:
        try:
            attrs = as_dict(as_dict(json.loads(body).get("data")).get("attributes"))
        except ValueError:
            continue
        updated_at = as_datetime(attrs.get("updatedAt"))
        if until is not None and updated_at is not None and updated_at > until:
            continue
        if "assignedTeams" not in attrs and "assignedUsers" not in attrs:
            continue
        order = (as_int(attrs.get("rev")) or 0, updated_at.timestamp() if updated_at else 0.0)
        state = AssignmentState(
            teams=tuple(sorted(as_str(t, 64) for t in as_list(attrs.get("assignedTeams")))),
            users=tuple(sorted(as_str(u, 64) for u in as_list(attrs.get("assignedUsers")))),
        )
        snapshots.append((order, state))
    snapshots.sort(key=lambda item: item[0])
    return [state for _, state in snapshots]


def conversation_intent(*, conversation_id: int) -> tuple[str, str]:
    """(intent key, route) of the current classification; the reviewer's intent wins over the AI's."""
    classification = (
        Classification.objects.filter(conversation_id=conversation_id, current=True)
        .select_related("intent", "review__intent")
        .first()
    )
    if classification is None:
        return "", ""
    review = getattr(classification, "review", None)
    intent = review.intent if review else classification.intent
    return (intent.key if intent else ""), classification.route
