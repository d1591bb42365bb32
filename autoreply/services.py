"""Writes of the auto-reply pipeline: decide, deliver once, reconcile, escalate, grade, switch modes."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bearscope.exceptions import BearScopeError
from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit, task_claim_expiry
from classification.models import Classification
from kustomer.client import (
    KustomerClient,
    KustomerError,
    client_get,
    draft_is_sent,
    email_draft_fields,
    message_body_text,
    message_draft_id,
)
from kustomer.exceptions import (
    KustomerAuthError,
    KustomerBadRequest,
    KustomerNotFound,
    KustomerUnknownOutcome,
)
from kustomer.models import Conversation, CustomAttributeNames, Message
from kustomer.payloads import as_dict, related_id
from kustomer.services import machine_user_id

from .guardrails import guardrails_run
from .models import (
    AutoReply,
    AutoReplyDecision,
    AutoReplyPolicy,
    AutoReplySettings,
    Escalation,
    Mode,
    PolicyAudit,
    ShadowReview,
)
from .selectors import Readiness, policy_readiness

logger = logging.getLogger(__name__)

DECIDE_TASK = "autoreply.tasks.classification_autoreply"
REPLY_TASK = "autoreply.tasks.reply_deliver"
ESCALATE_TASK = "autoreply.tasks.escalation_apply"
# How long after its classification a conversation may still get its first auto-reply decision
# (the sweeper retries decisions Kustomer could not help with, or whose task was lost).
DECIDE_WINDOW = timedelta(hours=1)
MAX_ATTEMPTS = 5
# Errors after which Kustomer did nothing and never will for this request: retrying cannot help.
FINAL_ERRORS = (KustomerBadRequest, KustomerAuthError, KustomerNotFound)
ESCALATION_NOTE = (
    "The customer wrote again after BearScope's automatic reply, so this conversation needs a person. "
    "BearScope will not reply automatically in this conversation again."
)
SHADOW_NOTE = "BearScope shadow mode: this reply would have been sent (nothing was sent to the customer).\n\n"


class ReadinessNotMet(BearScopeError, ValueError):
    """Switching to live is refused: the intent's shadow replies have not passed the readiness bar."""


class ModeChangeError(BearScopeError, ValueError):
    """The mode change asked for is not possible; the message says why."""


# --- deciding -----------------------------------------------------------------------------------


def classification_autoreply_enqueue(*, classification: Classification) -> None:
    enqueue_on_commit(DECIDE_TASK, classification.pk, task_name=f"autoreply-{classification.pk}")


def classification_autoreply(*, classification_id: int) -> AutoReplyDecision | None:
    """Run the guardrail chain for a classification once and act on the mode; safe to run again."""
    existing = AutoReplyDecision.objects.filter(classification_id=classification_id).first()
    if existing is not None:
        reply = AutoReply.objects.filter(decision=existing, state=AutoReply.State.PENDING).first()
        if reply is not None:
            reply_deliver(reply_id=reply.pk)
        return existing
    classification = Classification.objects.select_related(
        "conversation__customer", "intent", "sub_intent"
    ).get(pk=classification_id)
    if classification.status != Classification.Status.DONE or not classification.current:
        return None
    config = AutoReplySettings.load()
    try:
        outcome = guardrails_run(classification=classification, config=config, client=client_get())
    except KustomerError as exc:
        # Unable to check safely now: nothing is sent. The sweeper asks again while a reply would
        # still be timely; after that the decision says why for the admin.
        logger.warning("Auto-reply checks for classification %s failed: %s", classification_id, exc)
        classified_at = classification.classified_at or classification.created_at
        if classified_at > timezone.now() - DECIDE_WINDOW:
            return None
        return _decision_save(
            classification,
            verdict=AutoReplyDecision.Verdict.BLOCKED,
            reason="kustomer_unavailable",
            checks=[{"check": "kustomer", "passed": False, "reason": str(exc)[:500]}],
        )
    decision = _decision_save(
        classification,
        verdict=AutoReplyDecision.Verdict.REPLY if outcome.reply else AutoReplyDecision.Verdict.BLOCKED,
        reason=outcome.chain.blocked_by,
        checks=outcome.chain.checks,
        policy=outcome.policy,
        mode=outcome.mode,
        channel=outcome.channel,
        subject=outcome.subject,
        body=outcome.body,
        order=outcome.facts.values() if outcome.facts else {},
    )
    if (
        decision.verdict == AutoReplyDecision.Verdict.REPLY
        and decision.mode == Mode.SHADOW
        and config.shadow_note
    ):
        shadow_note_add(decision=decision)
    return decision


def _decision_save(classification: Classification, **fields) -> AutoReplyDecision:
    """Insert the decision (the unique classification decides a race) and claim the conversation's reply."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                decision = AutoReplyDecision.objects.create(
                    classification=classification, conversation=classification.conversation, **fields
                )
        except IntegrityError:
            return AutoReplyDecision.objects.get(classification=classification)
        if decision.verdict != AutoReplyDecision.Verdict.REPLY or decision.mode not in (
            Mode.DRAFT,
            Mode.LIVE,
        ):
            return decision
        try:
            with transaction.atomic():
                reply = AutoReply.objects.create(
                    conversation=classification.conversation,
                    decision=decision,
                    mode=decision.mode,
                    channel=decision.channel,
                    subject=decision.subject,
                    body=decision.body,
                )
        except IntegrityError:
            # Another classification of this conversation took the one reply it may ever get.
            decision.verdict, decision.reason = AutoReplyDecision.Verdict.BLOCKED, "first_contact"
            decision.checks = [
                *decision.checks,
                {"check": "first_contact", "passed": False, "reason": "another auto-reply claimed it first"},
            ]
            decision.save(update_fields=["verdict", "reason", "checks", "updated_at"])
            return decision
        enqueue_on_commit(REPLY_TASK, reply.pk, task_name=f"reply-{reply.pk}")
    return decision


def shadow_note_add(*, decision: AutoReplyDecision) -> None:
    """Best effort: the note is a convenience for agents, never worth a retry that could duplicate it."""
    try:
        note = client_get().note_create(decision.conversation.kustomer_id, SHADOW_NOTE + decision.body)
    except KustomerError as exc:
        logger.warning("Shadow note for decision %s not added: %s", decision.pk, exc)
        return
    AutoReplyDecision.objects.filter(pk=decision.pk).update(note_id=str(note.get("id") or "")[:64])


# --- delivering exactly once --------------------------------------------------------------------


def reply_deliver(*, reply_id: int) -> AutoReply:
    """pending → sending → sent | staged | failed | unknown; a stale or unknown send is reconciled first."""
    now = timezone.now()
    claimed = AutoReply.objects.filter(pk=reply_id, state=AutoReply.State.PENDING).update(
        state=AutoReply.State.SENDING, sending_started_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    reply = AutoReply.objects.select_related("conversation__customer").get(pk=reply_id)
    if claimed:
        return _send(reply, client_get())
    # A worker killed mid-send leaves "sending" behind; past its task timeout that worker is gone.
    if reply.state == AutoReply.State.UNKNOWN or (
        reply.state == AutoReply.State.SENDING
        and (reply.sending_started_at is None or reply.sending_started_at < now - task_claim_expiry())
    ):
        return reply_reconcile(reply_id=reply_id)
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
            fields = email_draft_fields(reply.subject) if reply.channel == "email" else {}
            draft = client.draft_create(
                conversation.customer.kustomer_id if conversation.customer else "",
                conversation_id=conversation.kustomer_id,
                channel=reply.channel,
                body=reply.body,
                **fields,
            )
            reply.draft_id = str(draft.get("id") or "")[:64]
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
    conversation_id = reply.conversation.kustomer_id
    body = reply.body.strip()
    for message in client.conversation_messages(conversation_id):
        attributes = as_dict(message.get("attributes"))
        if attributes.get("direction") != "out":
            continue
        from_our_draft = bool(reply.draft_id) and message_draft_id(message) == reply.draft_id
        same_text = message_body_text(attributes).strip() == body and (
            not ours or related_id(message, "createdBy") == ours
        )
        if from_our_draft or same_text:
            return Found(message_id=str(message.get("id") or ""), draft_id=message_draft_id(message))
    for draft in client.conversation_drafts(conversation_id):
        attributes = as_dict(draft.get("attributes"))
        mine = draft.get("id") == reply.draft_id or str(attributes.get("body") or "").strip() == body
        if mine and not draft_is_sent(draft):
            return Found(draft_id=str(draft.get("id") or ""))
    return Found()


def reply_reconcile(*, reply_id: int) -> AutoReply:
    """Look for the reply in Kustomer before anything is retried: found sent, found staged, or absent."""
    now = timezone.now()
    claimed = (
        AutoReply.objects.filter(pk=reply_id)
        .filter(
            Q(state=AutoReply.State.UNKNOWN)
            | Q(state=AutoReply.State.SENDING, sending_started_at__lt=now - task_claim_expiry())
            | Q(state=AutoReply.State.SENDING, sending_started_at__isnull=True)
        )
        .update(state=AutoReply.State.SENDING, sending_started_at=now, updated_at=now)
    )
    reply = AutoReply.objects.select_related("conversation__customer").get(pk=reply_id)
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


def replies_enqueue(*, reply_ids: list[int]) -> int:
    """Queue replies to be finished (the admin's action); delivery reconciles before it sends."""
    enqueue_each_on_commit(REPLY_TASK, reply_ids, name="reply")
    return len(reply_ids)


def replies_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue replies a worker never took, left unknown, or left in `sending` (the periodic sweeper)."""
    now = timezone.now()
    stuck = list(
        AutoReply.objects.filter(
            # An unknown send waits too: a create that timed out may still be landing in Kustomer.
            Q(state__in=[AutoReply.State.PENDING, AutoReply.State.UNKNOWN], updated_at__lt=now - older_than)
            | Q(state=AutoReply.State.SENDING, sending_started_at__lt=now - task_claim_expiry())
        ).values_list("pk", flat=True)[:200]
    )
    replies_enqueue(reply_ids=stuck)
    return stuck


def decisions_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue recent classifications that have no decision yet (Kustomer was down, a task was lost)."""
    now = timezone.now()
    waiting = list(
        Classification.objects.filter(
            status=Classification.Status.DONE,
            current=True,
            autoreply_decision__isnull=True,
            classified_at__gte=now - DECIDE_WINDOW - older_than,
            classified_at__lt=now - older_than,
        ).values_list("pk", flat=True)[:200]
    )
    enqueue_each_on_commit(DECIDE_TASK, waiting, name="autoreply")
    return waiting


# --- escalation ---------------------------------------------------------------------------------


def escalation_open(*, conversation: Conversation, message: Message) -> Escalation | None:
    """A message after an auto-reply that was (or may have been) sent flags the conversation, once."""
    if message.direction != Message.Direction.IN:
        return None
    # Sending or unknown may have reached the customer: a person looking is the safe side.
    reply = AutoReply.objects.filter(
        conversation=conversation,
        state__in=[AutoReply.State.SENT, AutoReply.State.SENDING, AutoReply.State.UNKNOWN],
    ).first()
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


def escalation_apply(*, escalation_id: int) -> Escalation:
    """Set the custom attribute (idempotent) and add the internal note (looked for before it is made)."""
    escalation = Escalation.objects.select_related("conversation").get(pk=escalation_id)
    conversation_id = escalation.conversation.kustomer_id
    client = client_get()
    escalated = CustomAttributeNames.load().escalated
    try:
        if not escalation.flagged:
            client.conversation_custom_update(conversation_id, {escalated: True})
            escalation.flagged = True
        if not escalation.note_id:
            existing = next(
                (
                    n
                    for n in client.conversation_notes(conversation_id)
                    if str(as_dict(n.get("attributes")).get("body") or "").strip() == ESCALATION_NOTE
                ),
                None,
            )
            note = existing or client.note_create(conversation_id, ESCALATION_NOTE)
            escalation.note_id = str(note.get("id") or "")[:64]
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
        ).values_list("pk", flat=True)[:200]
    )
    enqueue_each_on_commit(ESCALATE_TASK, stuck, name="escalate")
    return stuck


# --- review and modes ---------------------------------------------------------------------------


def shadow_review_save(
    *, decision: AutoReplyDecision, reviewer: AbstractBaseUser, grade: str, note: str = ""
) -> ShadowReview:
    """Grade a shadow reply once; a second grade raises IntegrityError (the first one stands)."""
    if grade not in ShadowReview.Grade.values:
        raise ValueError(f"Unknown grade {grade!r}.")
    if decision.mode != Mode.SHADOW or decision.verdict != AutoReplyDecision.Verdict.REPLY:
        raise ValueError("Only shadow replies are graded.")
    return ShadowReview.objects.create(decision=decision, reviewer=reviewer, grade=grade, note=note.strip())


def threshold_parse(value: str | Decimal | float | None) -> Decimal | None:
    """A threshold from an operator: a number from 0 to 1, else ModeChangeError."""
    if value is None or value == "":
        return None
    try:
        threshold = Decimal(str(value)).quantize(Decimal("0.001"))
    except InvalidOperation:
        raise ModeChangeError(f"The threshold must be a number from 0 to 1, not {value!r}.") from None
    if not Decimal("0") <= threshold <= Decimal("1"):
        raise ModeChangeError(f"The threshold must be from 0 to 1, not {threshold}.")
    return threshold


def live_switch_check(
    *, policy: AutoReplyPolicy, mode: str, current_mode: str, override_reason: str = ""
) -> Readiness | None:
    """Readiness when switching to live; ReadinessNotMet unless it passes or a reason overrides it."""
    if mode != Mode.LIVE or current_mode == Mode.LIVE:
        return None
    readiness = policy_readiness(policy=policy)
    if not readiness.ready and not override_reason.strip():
        raise ReadinessNotMet(
            f"{readiness.label} cannot go live yet: {readiness.summary}. Keep it in shadow mode until it "
            "passes the readiness bar, or override with a written reason."
        )
    return readiness


def policy_mode_set(
    *,
    policy: AutoReplyPolicy,
    mode: str,
    actor: str,
    threshold: Decimal | None = None,
    user: AbstractBaseUser | None = None,
    override_reason: str = "",
) -> PolicyAudit | None:
    """Change a policy's mode and threshold, refused for live below the bar; every change is audited."""
    if mode not in Mode.values:
        raise ModeChangeError(f"Unknown mode {mode!r}; use one of {', '.join(Mode.values)}.")
    before_mode, before_threshold = "", None
    if policy.pk:
        before_mode, before_threshold = (
            AutoReplyPolicy.objects.filter(pk=policy.pk).values_list("mode", "threshold").get()
        )
    readiness = live_switch_check(
        policy=policy, mode=mode, current_mode=before_mode, override_reason=override_reason
    )
    new_threshold = threshold if threshold is not None else policy.threshold
    if before_mode == mode and before_threshold == new_threshold:
        return None
    with transaction.atomic():
        policy.mode, policy.threshold = mode, new_threshold
        policy.save()
        figures = readiness or policy_readiness(policy=policy)
        return PolicyAudit.objects.create(
            policy=policy,
            user=user,
            actor=actor[:150],
            mode_before=before_mode,
            mode_after=mode,
            threshold_before=before_threshold,
            threshold_after=new_threshold,
            readiness=figures.as_dict(),
            override_reason=override_reason.strip() if readiness is not None and not readiness.ready else "",
        )
