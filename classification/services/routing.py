"""Routing a classified conversation: auto at or above its threshold, triage otherwise, then write back."""

import functools
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..models import Classification, ClassifierSettings, Intent
from ..reasons import RouteReason
from ..signals import classification_decided
from .writeback import classification_write_back


def threshold_for(intent: Intent | None, config: ClassifierSettings) -> Decimal:
    if intent is not None and intent.auto_route_threshold is not None:
        return intent.auto_route_threshold
    return config.auto_route_threshold


def classification_route(
    *,
    classification: Classification,
    config: ClassifierSettings,
    reason: str = "",
    error: str = "",
    threshold: Decimal | None = None,
) -> None:
    """Route and save: auto only for a valid answer at or above the threshold; triage otherwise."""
    if threshold is None:
        threshold = threshold_for(classification.intent, config)
    if not reason and classification.confidence < float(threshold):
        reason = RouteReason.LOW_CONFIDENCE
    classification.route = Classification.Route.TRIAGE if reason else Classification.Route.AUTO
    classification.route_reason = reason
    classification.error = error[:4000]
    classification.status = Classification.Status.DONE
    classification.classified_at = timezone.now()
    classification.writeback_status = Classification.WriteBack.PENDING
    with transaction.atomic():
        classification.save()
        # The worker that classified writes back right after commit, saving a queue round trip per
        # conversation; a failure is recorded on the row and the sweeper retries it.
        transaction.on_commit(
            functools.partial(classification_write_back, classification_pk=classification.pk), robust=True
        )
        classification_decided.send(sender=Classification, classification=classification)
