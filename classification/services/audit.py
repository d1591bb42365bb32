"""Audit drift: an error logged once when agreement on the latest audits falls below the floor."""

import logging

from django.utils import timezone

from ..models import ClassifierSettings
from ..quality import AuditAgreement, audit_agreement

logger = logging.getLogger(__name__)


def audit_drift_check(*, agreement: AuditAgreement | None = None) -> AuditAgreement:
    """Log an error the first time agreement is below the floor, and re-arm once it is back above.

    The moment it was logged is kept on the classifier settings, and the update is conditional, so
    page views, reviews and workers racing each other still log one line per drift.
    """
    agreement = agreement or audit_agreement()
    settings = ClassifierSettings.objects.filter(pk=ClassifierSettings.load().pk)
    if agreement.below_floor:
        if settings.filter(audit_drift_logged_at__isnull=True).update(audit_drift_logged_at=timezone.now()):
            logger.error(
                "Audit agreement fell below the floor: reviewers agreed with %d of the last %d automatic "
                "routes (%.0f%%, floor %.0f%%). Check the quality report; consider raising the auto-route "
                "threshold.",
                agreement.agreed,
                agreement.in_window,
                100 * agreement.agreement,
                100 * agreement.floor,
            )
    elif agreement.full:
        settings.filter(audit_drift_logged_at__isnull=False).update(audit_drift_logged_at=None)
    return agreement
