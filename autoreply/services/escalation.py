"""Escalation: a customer who writes again after an auto-reply gets a person, flagged once in Kustomer."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit
from bearscope.sweeps import SWEEP_BATCH
from kustomer.client import KustomerError, client_get
from kustomer.models import Conversation, CustomAttributeNames, Message
from kustomer.payloads import body_text, resource_id

from ..models import AutoReply, Escalation
from .delivery import MAX_ATTEMPTS

logger = logging.getLogger(__name__)

ESCALATE_TASK = "autoreply.tasks.escalation_apply"
ESCALATION_NOTE = (
    "The customer wrote again after BearScope's automatic reply, so this conversation needs a person. "
    "BearScope will not reply automatically in this conversation again."
)


def escalation_open(*, conversation: Conversation, message: Message) -> Escalation | None:
    """A message after an auto-reply that was (or may have been) sent flags the conversation, once."""
    if message.direction != Message.Direction.IN:
        return None
    # Sending or unknown may have reached the customer: a person looking is the safe side. Only its
    # times are read: this runs on every customer message, and the reply's text is not needed here.
    reply = (
        AutoReply.objects.filter(
            conversation=conversation,
            state__in=[AutoReply.State.SENT, AutoReply.State.SENDING, AutoReply.State.UNKNOWN],
        )
        .only("finished_at", "sending_started_at")
        .first()
    )
    if reply is None:
        return None
    replied_at = reply.finished_at or reply.sending_started_at
    if message.sent_at and replied_at and message.sent_at < replied_at - timedelta(seconds=5):
        return None  # an older message delivered late, not an answer to our reply
    escalation, created = Escalation.objects.get_or_create(
        conversation=conversation, defaults={"message_id": message.kustomer_id}
    )
    if created:
        enqueue_on_commit(ESCALATE_TASK, escalation.pk, task_name=f"escalate-{escalation.pk}")
    return escalation


def escalation_apply(*, escalation_pk: int) -> Escalation:
    """Set the custom attribute (idempotent) and add the internal note (looked for before it is made)."""
    escalation = Escalation.objects.select_related("conversation").get(pk=escalation_pk)
    conversation_kustomer_id = escalation.conversation.kustomer_id
    client = client_get()
    escalated = CustomAttributeNames.load().escalated
    try:
        if not escalation.flagged:
            client.conversation_custom_update(conversation_kustomer_id, {escalated: True})
            escalation.flagged = True
        if not escalation.note_id:
            existing = next(
                (
                    n
                    for n in client.conversation_notes(conversation_kustomer_id)
                    if body_text(n) == ESCALATION_NOTE
                ),
                None,
            )
            note = existing or client.note_create(conversation_kustomer_id, ESCALATION_NOTE)
            escalation.note_id = resource_id(note)
        escalation.error = ""
    except KustomerError as exc:
        escalation.error = str(exc)[:4000]
        logger.warning("Escalation %s not finished, the sweeper retries: %s", escalation.pk, exc)
    escalation.attempts += 1
    escalation.save(update_fields=["flagged", "note_id", "error", "attempts", "updated_at"])
    return escalation


def escalations_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue escalations whose attribute or note is not written yet (left alone while fresh)."""
    stuck = list(
        Escalation.objects.filter(
            Q(flagged=False) | Q(note_id=""),
            attempts__lt=MAX_ATTEMPTS * 2,
            updated_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(ESCALATE_TASK, stuck, name="escalate")
    return stuck
