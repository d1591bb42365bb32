"""Writing a classification back to Kustomer as custom attributes, and retrying what failed."""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from bearscope.queue import enqueue_each_on_commit
from bearscope.sweeps import SWEEP_BATCH
from kustomer.client import KustomerError, client_get
from kustomer.models import CustomAttributeNames

from ..models import Classification

logger = logging.getLogger(__name__)

WRITEBACK_TASK = "classification.tasks.classification_write_back"
WRITEBACK_MAX_ATTEMPTS = 10


def writeback_attributes(
    classification: Classification, names: CustomAttributeNames
) -> tuple[dict, int | None]:
    """The custom attributes to write (reviewed values when there is a review) and Kustomer's priority."""
    review = getattr(classification, "review", None)
    source = review or classification
    custom = {
        names.intent: source.intent.key if source.intent else None,
        names.sub_intent: source.sub_intent.key if source.sub_intent else None,
        names.priority: source.priority.key if source.priority else None,
        names.complexity: source.complexity.key if source.complexity else None,
        names.confidence: classification.confidence,
        names.route: classification.route,
        names.classified_at: classification.classified_at.isoformat().replace("+00:00", "Z")
        if classification.classified_at
        else None,
        names.language: classification.language or None,
        names.sentiment: classification.sentiment or None,
        names.reviewed: review is not None,
    }
    return custom, (source.priority.kustomer_priority if source.priority else None)


def classification_write_back(*, classification_pk: int) -> Classification:
    """PATCH the result onto the Kustomer conversation; a failure is recorded for the sweeper."""
    classification = Classification.objects.select_related(
        "conversation", "intent", "sub_intent", "priority", "complexity"
    ).get(pk=classification_pk)
    if classification.writeback_status == Classification.WriteBack.DONE or not classification.current:
        return classification
    custom, priority = writeback_attributes(classification, CustomAttributeNames.load())
    try:
        client_get().conversation_custom_update(
            classification.conversation.kustomer_id, custom, priority=priority
        )
    except KustomerError as exc:
        Classification.objects.filter(pk=classification.pk).update(
            writeback_status=Classification.WriteBack.FAILED,
            writeback_error=str(exc)[:2000],
            writeback_attempts=F("writeback_attempts") + 1,
            updated_at=timezone.now(),
        )
        logger.warning("Write-back of classification %s failed: %s", classification.pk, exc)
        classification.refresh_from_db()
        return classification
    Classification.objects.filter(pk=classification.pk, updated_at=classification.updated_at).update(
        writeback_status=Classification.WriteBack.DONE,
        writeback_error="",
        written_back_at=timezone.now(),
        writeback_attempts=F("writeback_attempts") + 1,
    )
    classification.refresh_from_db()
    return classification


def writeback_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue write-backs that failed or never ran (the periodic sweeper); returns their ids."""
    stale = list(
        Classification.objects.filter(
            status=Classification.Status.DONE,
            current=True,
            writeback_status__in=[Classification.WriteBack.PENDING, Classification.WriteBack.FAILED],
            writeback_attempts__lt=WRITEBACK_MAX_ATTEMPTS,
            updated_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    writebacks_enqueue(classification_pks=stale)
    return stale


def writebacks_enqueue(*, classification_pks: list[int]) -> int:
    enqueue_each_on_commit(WRITEBACK_TASK, classification_pks, name="writeback")
    return len(classification_pks)
