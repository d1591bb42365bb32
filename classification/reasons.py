"""Why a classification went to triage, and why its provider decided: one home each."""

from django.db import models

from bearscope.llm import LlmFailure


class RouteReason(models.TextChoices):
    """Why a classification went to triage instead of routing automatically (empty: it routed)."""

    LOW_CONFIDENCE = "low_confidence", "Low confidence"
    INVALID_OUTPUT = LlmFailure.INVALID_OUTPUT.value, "Answer outside the taxonomy"
    TRUNCATED_OUTPUT = LlmFailure.TRUNCATED_OUTPUT.value, "Answer cut off"
    REFUSAL = LlmFailure.REFUSAL.value, "Classifier refused"
    CLASSIFIER_ERROR = LlmFailure.CLASSIFIER_ERROR.value, "Classifier error"
    NO_CLASSIFIER = "no_classifier", "No classifier configured"


class QueueReason(models.TextChoices):
    """Why an automatically routed conversation is in the triage queue all the same."""

    AUDIT = "audit", "Audit"


class ProviderReason(models.TextChoices):
    """Why the provider that decided (Claude or the local classifier) did."""

    CLAUDE = "claude", "Claude"
    OFFLINE_DEFAULT = "offline_default", "Local classifier: no Anthropic key"
    FALLBACK = "fallback_after_claude_error", "Local classifier after Claude failed"
    CASCADE_CONFIDENT = "cascade_confident", "Local classifier sure enough (cascade)"
    CASCADE_NOT_CONFIDENT = "cascade_not_confident", "Claude after an unsure local classifier (cascade)"
    NO_CLASSIFIER = "no_classifier", "No classifier configured"


class ReclassifyReason(models.TextChoices):
    """Why a conversation was classified again."""

    TRIAGE_UNREVIEWED = "triage_unreviewed", "Customer wrote again while waiting in triage"
    TOO_LITTLE_TEXT = "too_little_text", "Customer wrote again after too little text"
    MANUAL = "manual", "Classified again from the admin"


def reason_label(reason: str) -> str:
    """A triage reason in the reviewers' words (an unknown one made readable)."""
    if reason in RouteReason.values:
        return RouteReason(reason).label
    if reason in QueueReason.values:
        return QueueReason(reason).label
    return reason.replace("_", " ").capitalize() or "Unknown"
