"""The triage queue's writes: claiming an item, and saving a reviewer's decision."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bearscope.queue import enqueue_on_commit

from ..models import Classification, ComplexityLevel, Intent, PriorityLevel, TriageReview
from ..signals import triage_reviewed
from .audit import audit_drift_check
from .writeback import WRITEBACK_TASK

CLAIM_MINUTES = 5


def triage_claim(*, classification: Classification, user: AbstractBaseUser) -> bool:
    """Claim an item for CLAIM_MINUTES unless someone else holds it; True when the user holds it."""
    now = timezone.now()
    return bool(
        Classification.objects.filter(pk=classification.pk)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user) | Q(claimed_until__lt=now))
        .update(claimed_by=user, claimed_until=now + timedelta(minutes=CLAIM_MINUTES))
    )


def triage_review_save(
    *,
    classification: Classification,
    reviewer: AbstractBaseUser,
    intent: Intent,
    sub_intent: Intent | None,
    priority: PriorityLevel,
    complexity: ComplexityLevel,
    note: str = "",
) -> TriageReview:
    """Record a reviewer's decision, write the reviewed values back to Kustomer, and let auto-reply
    decide again on them."""
    if intent.parent_id is not None:
        raise ValueError("The intent must be a top-level intent.")
    if sub_intent is not None and sub_intent.parent_id != intent.pk:
        raise ValueError("The sub-intent must belong to the intent.")
    agreed = classification.intent_id == intent.pk and classification.sub_intent_id == (
        sub_intent.pk if sub_intent else None
    )
    with transaction.atomic():
        review = TriageReview.objects.create(
            classification=classification,
            reviewer=reviewer,
            intent=intent,
            sub_intent=sub_intent,
            priority=priority,
            complexity=complexity,
            note=note,
            agreed=agreed,
        )
        # On the row too, in the same transaction: the triage backlog is counted from it alone.
        Classification.objects.filter(pk=classification.pk).update(
            reviewed_at=review.created_at,
            writeback_status=Classification.WriteBack.PENDING,
            claimed_by=None,
            claimed_until=None,
            updated_at=timezone.now(),
        )
        enqueue_on_commit(WRITEBACK_TASK, classification.pk, task_name=f"writeback-{classification.pk}")
        if classification.audit:
            transaction.on_commit(audit_drift_check, robust=True)
        # A correction is a decision: the auto-reply chain runs again on the reviewed values.
        triage_reviewed.send(sender=TriageReview, review=review)
    return review
