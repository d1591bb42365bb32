"""Routing a classified conversation: auto at or above its threshold, triage otherwise, then write back."""

import functools
import hashlib
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


def audit_sampled(*, classification: Classification, share: Decimal) -> bool:
    """Whether an automatically routed classification is also audited: the same answer on every run.

    The conversation's Kustomer id is hashed to a number in [0, 1), so 0 audits nothing, 1 audits
    everything, and a re-run or a retry of the same conversation makes the same choice.
    """
    digest = hashlib.sha256(classification.conversation.kustomer_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < float(share)


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
    classification.route_threshold = threshold
    classification.audit = classification.route == Classification.Route.AUTO and audit_sampled(
        classification=classification, share=config.audit_share
    )
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
