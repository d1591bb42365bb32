"""Deciding a classification's auto-reply once: the guardrail chain, then acting on the policy's mode."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit
from bearscope.sweeps import SWEEP_BATCH
from classification.models import Classification, TriageReview
from kustomer.client import KustomerError, client_get

from ..guardrails import guardrails_run
from ..models import AutoReply, AutoReplyDecision, AutoReplySettings, Mode
from ..reasons import BlockReason, Check
from .delivery import REPLY_TASK, reply_deliver

logger = logging.getLogger(__name__)

DECIDE_TASK = "autoreply.tasks.classification_autoreply"
REVIEW_DECIDE_TASK = "autoreply.tasks.review_autoreply"
# How long after its classification a conversation may still get its first auto-reply decision
# (the sweeper retries decisions Kustomer could not help with, or whose task was lost).
DECIDE_WINDOW = timedelta(hours=1)
SHADOW_NOTE = "BearScope shadow mode: this reply would have been sent (nothing was sent to the customer).\n\n"


def classification_autoreply_enqueue(*, classification: Classification) -> None:
    enqueue_on_commit(DECIDE_TASK, classification.pk, task_name=f"autoreply-{classification.pk}")


def classification_autoreply(*, classification_pk: int) -> AutoReplyDecision | None:
    """Run the guardrail chain for a classification once and act on the mode; safe to run again."""
    existing = AutoReplyDecision.objects.filter(
        classification_id=classification_pk, triage_review__isnull=True
    ).first()
    if existing is not None:
        return _existing(existing)
    classification = Classification.objects.select_related(
        "conversation__customer", "intent", "sub_intent"
    ).get(pk=classification_pk)
    return _decide(classification, review=None)


def review_autoreply_enqueue(*, review: TriageReview) -> None:
    enqueue_on_commit(REVIEW_DECIDE_TASK, review.pk, task_name=f"autoreply-review-{review.pk}")


def review_autoreply(*, review_pk: int) -> AutoReplyDecision | None:
    """Run the guardrail chain again on a reviewer's values (their intent counts as routed and certain);
    once per review, and never a second reply in the conversation."""
    existing = AutoReplyDecision.objects.filter(triage_review_id=review_pk).first()
    if existing is not None:
        return _existing(existing)
    review = TriageReview.objects.select_related(
        "classification__conversation__customer", "intent", "sub_intent", "priority", "complexity"
    ).get(pk=review_pk)
    return _decide(review.classification, review=review)


def _existing(decision: AutoReplyDecision) -> AutoReplyDecision:
    reply = AutoReply.objects.filter(decision=decision, state=AutoReply.State.PENDING).first()
    if reply is not None:
        reply_deliver(reply_pk=reply.pk)
    return decision


def _decide(classification: Classification, *, review: TriageReview | None) -> AutoReplyDecision | None:
    if classification.status != Classification.Status.DONE or not classification.current:
        return None  # classified again since: the newer classification decides
    config = AutoReplySettings.load()
    try:
        outcome = guardrails_run(
            classification=classification, config=config, client=client_get(), review=review
        )
    except KustomerError as exc:
        # Unable to check safely now: nothing is sent. The sweeper asks again while a reply would
        # still be timely; after that the decision says why for the admin.
        logger.warning("Auto-reply checks for classification %s failed: %s", classification.pk, exc)
        decided_at = (
            review.created_at if review else (classification.classified_at or classification.created_at)
        )
        if decided_at > timezone.now() - DECIDE_WINDOW:
            return None
        return _decision_save(
            classification,
            review=review,
            verdict=AutoReplyDecision.Verdict.BLOCKED,
            reason=BlockReason.KUSTOMER_UNAVAILABLE,
            checks=[{"check": Check.KUSTOMER, "passed": False, "reason": str(exc)[:500]}],
        )
    decision = _decision_save(
        classification,
        review=review,
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


def _decision_save(
    classification: Classification, *, review: TriageReview | None, **fields
) -> AutoReplyDecision:
    """Insert the decision (the unique classification or review decides a race) and claim the
    conversation's reply."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                decision = AutoReplyDecision.objects.create(
                    classification=classification,
                    triage_review=review,
                    conversation=classification.conversation,
                    **fields,
                )
        except IntegrityError:
            return AutoReplyDecision.objects.get(classification=classification, triage_review=review)
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
            decision.verdict, decision.reason = AutoReplyDecision.Verdict.BLOCKED, BlockReason.FIRST_CONTACT
            decision.checks = [
                *decision.checks,
                {
                    "check": Check.FIRST_CONTACT,
                    "passed": False,
                    "reason": "another auto-reply claimed it first",
                    "code": BlockReason.FIRST_CONTACT,
                },
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


def decisions_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue recent classifications that have no decision yet (Kustomer was down, a task was lost)."""
    now = timezone.now()
    waiting = list(
        Classification.objects.filter(
            status=Classification.Status.DONE,
            current=True,
            autoreply_decisions__isnull=True,
            classified_at__gte=now - DECIDE_WINDOW - older_than,
            classified_at__lt=now - older_than,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(DECIDE_TASK, waiting, name="autoreply")
    return waiting


def review_decisions_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue recent triage reviews of current classifications that have no decision yet."""
    now = timezone.now()
    waiting = list(
        TriageReview.objects.filter(
            classification__current=True,
            autoreply_decision__isnull=True,
            created_at__gte=now - DECIDE_WINDOW - older_than,
            created_at__lt=now - older_than,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(REVIEW_DECIDE_TASK, waiting, name="autoreply-review")
    return waiting
