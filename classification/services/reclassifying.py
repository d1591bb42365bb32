"""Re-classification: the customer's newer messages classify a conversation again, once per burst."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from bearscope.lanes import cluster_for
from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit
from bearscope.sweeps import SWEEP_BATCH
from kustomer.models import Conversation, Message

from ..models import Classification, ClassifierSettings
from ..reasons import ReclassifyReason
from ..selectors import following_classification, following_facts
from ..wording import meaningful_word_count
from .classifying import conversation_classify

logger = logging.getLogger(__name__)

RECLASSIFY_TASK = "classification.tasks.conversation_reclassify"


def _seen_until(classification: Classification) -> datetime:
    return classification.started_at or classification.classified_at or classification.created_at


def _newer_inbound(conversation: Conversation, seen_until: datetime, message: Message | None) -> bool:
    # The customer message being mirrored, when the classification did not read it, answers without a query.
    if (
        message is not None
        and message.direction == Message.Direction.IN
        and message.conversation_id == conversation.pk
        and message.created_at is not None
        and message.created_at > seen_until
    ):
        return True
    return conversation.messages.filter(direction=Message.Direction.IN, created_at__gt=seen_until).exists()


def reclassify_reason(
    *, classification: Classification, config: ClassifierSettings, message: Message | None = None
) -> str:
    """Why the conversation should be classified again now (a ReclassifyReason); empty: it should not.

    Only a finished, current classification that went to triage or was made on too little text, that
    a newer customer message did not reach, with no review and no reply in the conversation yet,
    below the per-conversation cap. The cheap questions come first: this runs on every inbound message
    (`message`, already saved, when it is the one being mirrored).
    """
    done = Classification.Status.DONE
    if not config.enabled or not classification.current or classification.status != done:
        return ""
    conversation = classification.conversation
    seen_until = _seen_until(classification)
    if classification.route == Classification.Route.TRIAGE:
        reason = ReclassifyReason.TRIAGE_UNREVIEWED
    else:
        seen = conversation.messages.filter(direction=Message.Direction.IN, created_at__lte=seen_until)
        text = "\n".join(seen.values_list("body", flat=True))
        if meaningful_word_count(text) >= config.min_meaningful_words:
            return ""
        reason = ReclassifyReason.TOO_LITTLE_TEXT
    if not _newer_inbound(conversation, seen_until, message):
        return ""  # the classification already read every message
    facts = following_facts(conversation=conversation)
    if facts.reviewed:
        return ""  # a person decided: their word stands
    if facts.answered:
        return ""  # an agent (or BearScope's reply) answered: the conversation has moved on
    if facts.reclassified >= config.max_reclassifications:
        return ""
    return reason


def reclassification_request(*, conversation: Conversation, message: Message) -> Classification | None:
    """A new customer message: when it may change the classification, (re)start the wait before redoing it.

    Each message of a burst moves the due time later, so the burst is classified once, on all of it.
    Runs inside the webhook event's transaction, which holds the conversation's row lock. Returns the
    current classification (only the fields following reads) when it is to be classified again.
    """
    if message.direction != Message.Direction.IN:
        return None
    current = following_classification(conversation=conversation)
    if current is None:
        return None  # the first classification is queued and will read this message
    current.conversation = conversation  # already loaded: the reason's checks read it
    config = ClassifierSettings.load()
    if current.status == Classification.Status.DONE and not reclassify_reason(
        classification=current, config=config, message=message
    ):
        return None
    # A classification still running may finish without this message; the task decides once it is done.
    due = timezone.now() + timedelta(seconds=config.reclassify_debounce_seconds)
    Classification.objects.filter(pk=current.pk).update(reclassify_due_at=due)
    current.reclassify_due_at = due
    if not config.reclassify_debounce_seconds:
        enqueue_on_commit(RECLASSIFY_TASK, current.pk, task_name=f"reclassify-{current.pk}")
        return current
    # One schedule per classification, moved by every message: the burst's last message sets the time.
    # Its cluster's scheduler runs it, in the decisions lane (bearscope.lanes).
    name = f"reclassify-{current.pk}"
    schedule = {
        "func": RECLASSIFY_TASK,
        "args": repr((current.pk,)),
        "schedule_type": Schedule.ONCE,
        "repeats": -1,
        "next_run": due,
        "cluster": cluster_for(RECLASSIFY_TASK),
    }
    # One UPDATE for the burst's later messages where update_or_create takes a savepoint and a locking
    # read first. Nothing else makes this schedule, and the conversation's lock serialises its messages;
    # gone (run by the scheduler, which deletes it) or not made yet, it is made.
    if not Schedule.objects.filter(name=name).update(**schedule):
        Schedule.objects.create(name=name, **schedule)
    return current


def conversation_reclassify(*, classification_pk: int) -> Classification | None:
    """Classify the conversation again once its wait is over; the old classification stays as history.

    Whoever clears the due time takes the job: a duplicate delivery, or a task that fires before a
    later message's new due time, finds nothing to do.
    """
    now = timezone.now()
    config = ClassifierSettings.load()
    with transaction.atomic():
        old = (
            Classification.objects.select_related("conversation")
            .filter(pk=classification_pk, current=True, reclassify_due_at__lte=now)
            .first()
        )
        if old is None:
            return None
        if old.status != Classification.Status.DONE and config.enabled:
            return None  # still running: the sweeper asks again once it has finished
        reason = reclassify_reason(classification=old, config=config)
        fields = {"reclassify_due_at": None, "updated_at": now}
        if reason:
            fields["current"] = False
        taken = Classification.objects.filter(
            pk=old.pk, current=True, reclassify_due_at=old.reclassify_due_at
        ).update(**fields)
        if not taken or not reason:
            return None
        # The new row is pending inside the same transaction: if this worker dies, the stuck sweep
        # classifies it; the conversation is never left without a current classification.
        Classification.objects.create(conversation=old.conversation, reclassify_reason=reason)
    logger.info("Re-classifying conversation %s: %s", old.conversation_id, reason)
    return conversation_classify(conversation_pk=old.conversation_id)


def reclassifications_due_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue re-classifications whose time has long passed (a lost schedule, a classification that
    was still running); returns the classification ids."""
    due = list(
        Classification.objects.filter(
            current=True, reclassify_due_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(RECLASSIFY_TASK, due, name="reclassify")
    return due
