"""Delivering the one auto-reply exactly once: claim, stage or send, and reconcile before any retry."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from bearscope.queue import enqueue_each_on_commit, task_claim_expiry
from bearscope.sweeps import SWEEP_BATCH
from kustomer.client import KustomerClient, KustomerError, client_get
from kustomer.exceptions import (
    KustomerAuthError,
    KustomerBadRequest,
    KustomerNotFound,
    KustomerUnknownOutcome,
)
from kustomer.payloads import (
    body_text,
    draft_is_sent,
    message_draft_id,
    message_is_outbound,
    message_text,
    related_id,
    resource_id,
)
from kustomer.services import machine_user_id

from ..models import AutoReply, Escalation, Mode

logger = logging.getLogger(__name__)

REPLY_TASK = "autoreply.tasks.reply_deliver"
MAX_ATTEMPTS = 5
# Errors after which Kustomer did nothing and never will for this request: retrying cannot help.
FINAL_ERRORS = (KustomerBadRequest, KustomerAuthError, KustomerNotFound)


def reply_deliver(*, reply_pk: int) -> AutoReply:
    """pending → sending → sent | staged | failed | unknown; a stale or unknown send is reconciled first."""
    now = timezone.now()
    claimed = AutoReply.objects.filter(pk=reply_pk, state=AutoReply.State.PENDING).update(
        state=AutoReply.State.SENDING, sending_started_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    reply = AutoReply.objects.select_related("conversation__customer").get(pk=reply_pk)
    if claimed:
        return _send(reply, client_get())
    # A worker killed mid-send leaves "sending" behind; past its task timeout that worker is gone.
    if reply.state == AutoReply.State.UNKNOWN or (
        reply.state == AutoReply.State.SENDING
        and (reply.sending_started_at is None or reply.sending_started_at < now - task_claim_expiry())
    ):
        return reply_reconcile(reply_pk=reply_pk)
    return reply


def _finish(reply: AutoReply, state: str, *, error: str = "", **fields) -> AutoReply:
    """Leave `sending` for `state`; only the holder of `sending` gets here."""
    values = {"state": state, "error": error[:4000], "updated_at": timezone.now(), **fields}
    if state in (AutoReply.State.SENT, AutoReply.State.STAGED):
        values["finished_at"] = timezone.now()
    AutoReply.objects.filter(pk=reply.pk, state=AutoReply.State.SENDING).update(**values)
    reply.refresh_from_db()
    return reply


def _send(reply: AutoReply, client: KustomerClient) -> AutoReply:
    conversation = reply.conversation
    if Escalation.objects.filter(conversation=conversation).exists():
        # The customer wrote again before our reply went out: a person answers now, not a template.
        return _finish(
            reply, AutoReply.State.FAILED, error="Escalated to a person before the reply was sent."
        )
    try:
        if not reply.draft_id:
            draft = client.draft_create(
                conversation.customer.kustomer_id if conversation.customer else "",
                conversation_kustomer_id=conversation.kustomer_id,
                channel=reply.channel,
                body=reply.body,
                subject=reply.subject,
            )
            reply.draft_id = resource_id(draft)
            # Kept at once: a crash after this point reconciles against a known draft.
            AutoReply.objects.filter(pk=reply.pk).update(draft_id=reply.draft_id, updated_at=timezone.now())
        if reply.mode == Mode.DRAFT:
            return _finish(reply, AutoReply.State.STAGED)
        sent = client.draft_send(reply.draft_id)
        return _finish(reply, AutoReply.State.SENT, message_id=related_id(sent, "message"))
    except KustomerUnknownOutcome as exc:
        logger.warning("Auto-reply %s: outcome unknown, reconciling before any retry: %s", reply.pk, exc)
        return _finish(reply, AutoReply.State.UNKNOWN, error=str(exc))
    except FINAL_ERRORS as exc:
        return _finish(reply, AutoReply.State.FAILED, error=str(exc))
    except KustomerError as exc:
        # Rate limit, budget or no connection: Kustomer did not act; the sweeper tries again.
        state = AutoReply.State.PENDING if reply.attempts < MAX_ATTEMPTS else AutoReply.State.FAILED
        return _finish(reply, state, error=str(exc))


@dataclass(frozen=True)
class Found:
    message_id: str = ""
    draft_id: str = ""


def reply_find(*, client: KustomerClient, reply: AutoReply) -> Found:
    """Our reply on the conversation in Kustomer: a message sent from our draft or with our text, else
    an unsent draft of ours."""
    ours = machine_user_id()
    conversation_kustomer_id = reply.conversation.kustomer_id
    body = reply.body.strip()
    for message in client.conversation_messages(conversation_kustomer_id):
        if not message_is_outbound(message):
            continue
        from_our_draft = bool(reply.draft_id) and message_draft_id(message) == reply.draft_id
        same_text = message_text(message).strip() == body and (
            not ours or related_id(message, "createdBy") == ours
        )
        if from_our_draft or same_text:
            return Found(message_id=resource_id(message), draft_id=message_draft_id(message))
    for draft in client.conversation_drafts(conversation_kustomer_id):
        mine = resource_id(draft) == reply.draft_id or body_text(draft) == body
        if mine and not draft_is_sent(draft):
            return Found(draft_id=resource_id(draft))
    return Found()


def reply_reconcile(*, reply_pk: int) -> AutoReply:
    """Look for the reply in Kustomer before anything is retried: found sent, found staged, or absent."""
    now = timezone.now()
    claimed = (
        AutoReply.objects.filter(pk=reply_pk)
        .filter(
            Q(state=AutoReply.State.UNKNOWN)
            | Q(state=AutoReply.State.SENDING, sending_started_at__lt=now - task_claim_expiry())
            | Q(state=AutoReply.State.SENDING, sending_started_at__isnull=True)
        )
        .update(state=AutoReply.State.SENDING, sending_started_at=now, updated_at=now)
    )
    reply = AutoReply.objects.select_related("conversation__customer").get(pk=reply_pk)
    if not claimed:
        return reply
    client = client_get()
    try:
        found = reply_find(client=client, reply=reply)
    except KustomerError as exc:
        return _finish(reply, AutoReply.State.UNKNOWN, error=f"reconciliation failed, will look again: {exc}")
    if found.message_id:
        return _finish(
            reply,
            AutoReply.State.SENT,
            message_id=found.message_id[:64],
            draft_id=found.draft_id or reply.draft_id,
        )
    if found.draft_id:
        reply.draft_id = found.draft_id[:64]
        AutoReply.objects.filter(pk=reply.pk).update(draft_id=reply.draft_id)
        return _send(reply, client)
    if reply.draft_id:
        # Our draft is gone and no message came from it: someone removed it in Kustomer. Sending a new
        # one could contradict what the agent did, so a person decides.
        return _finish(reply, AutoReply.State.FAILED, error="The staged reply disappeared from Kustomer.")
    if reply.attempts >= MAX_ATTEMPTS:
        return _finish(reply, AutoReply.State.FAILED, error="Nothing was created after the last attempt.")
    AutoReply.objects.filter(pk=reply.pk).update(attempts=F("attempts") + 1)
    reply.refresh_from_db()
    return _send(reply, client)


def replies_enqueue(*, reply_pks: list[int]) -> int:
    """Queue replies to be finished (the admin's action); delivery reconciles before it sends."""
    enqueue_each_on_commit(REPLY_TASK, reply_pks, name="reply")
    return len(reply_pks)


def replies_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue replies a worker never took, left unknown, or left in `sending` (the periodic sweeper)."""
    now = timezone.now()
    stuck = list(
        AutoReply.objects.filter(
            # An unknown send waits too: a create that timed out may still be landing in Kustomer.
            Q(state__in=[AutoReply.State.PENDING, AutoReply.State.UNKNOWN], updated_at__lt=now - older_than)
            | Q(state=AutoReply.State.SENDING, sending_started_at__lt=now - task_claim_expiry())
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    replies_enqueue(reply_pks=stuck)
    return stuck
