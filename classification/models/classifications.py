"""Classifications of conversations, and the triage reviews that confirm or correct them."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from bearscope.models import TimeStampedModel

from ..reasons import ProviderReason, ReclassifyReason, RouteReason
from .taxonomy import ComplexityLevel, Intent, PriorityLevel


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class Classification(TimeStampedModel):
    """One classification of a conversation: what was asked, what came back, what was decided."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    class Route(models.TextChoices):
        AUTO = "auto", "Auto"
        TRIAGE = "triage", "Triage"

    class WriteBack(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Written"
        FAILED = "failed", "Failed (will retry)"

    conversation = models.ForeignKey(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="classifications"
    )
    current = models.BooleanField(default=True, help_text="False once classified again: kept as history.")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker last took it; a stale start is taken again."
    )
    intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sub_intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.ForeignKey(PriorityLevel, null=True, blank=True, on_delete=models.SET_NULL)
    complexity = models.ForeignKey(ComplexityLevel, null=True, blank=True, on_delete=models.SET_NULL)
    confidence = models.FloatField(null=True, blank=True)
    sub_intent_confidence = models.FloatField(
        null=True,
        blank=True,
        help_text="The local classifier's probability that intent and sub-intent are both right; "
        "empty when one confidence covers both (Claude).",
    )
    rationale = models.TextField(blank=True)
    entities = models.JSONField(default=dict, blank=True, help_text="order_number, email")
    language = models.CharField(
        max_length=2,
        blank=True,
        db_index=True,
        help_text="The customer's language (ISO 639-1); empty: unknown.",
    )
    sentiment = models.CharField(max_length=8, choices=Sentiment, blank=True)
    route = models.CharField(max_length=16, choices=Route, blank=True)
    route_reason = models.CharField(
        max_length=32, blank=True, choices=RouteReason, help_text="Why it went to triage."
    )
    route_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="The auto-route threshold its confidence was compared with.",
    )
    audit = models.BooleanField(
        default=False, help_text="Routed automatically and also sampled for a blind triage audit."
    )
    provider = models.CharField(max_length=32, blank=True, help_text="Who decided: claude or local.")
    provider_reason = models.CharField(
        max_length=32, blank=True, choices=ProviderReason, help_text="Why that provider decided."
    )
    local_model = models.ForeignKey(
        "LocalModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    local_label = models.CharField(max_length=140, blank=True, help_text="The local classifier's answer.")
    local_confidence = models.FloatField(null=True, blank=True)
    model_id = models.CharField(max_length=64, blank=True)
    prompt_version = models.ForeignKey(
        "bearscope.PromptVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    redactions = models.JSONField(default=dict, blank=True, help_text="Personal items redacted, per kind.")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_creation_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, default=Decimal("0"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_input = models.TextField(
        blank=True, help_text="The conversation part of the prompt, as the model saw it (redacted)."
    )
    raw_output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    classified_at = models.DateTimeField(null=True, blank=True, db_index=True)
    writeback_status = models.CharField(max_length=16, choices=WriteBack, default=WriteBack.PENDING)
    writeback_attempts = models.PositiveSmallIntegerField(default=0)
    writeback_error = models.TextField(blank=True)
    written_back_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    reclassify_reason = models.CharField(
        max_length=32,
        blank=True,
        choices=ReclassifyReason,
        verbose_name="re-classified because",
        help_text="Why this conversation was classified again (empty: its first classification).",
    )
    reclassify_due_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="A newer customer message asks for a re-classification at this time.",
    )
    reviewed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a reviewer confirmed or corrected it (its triage review's time); empty: not yet.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(current=True), name="classification_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["route", "status", "classified_at"], name="classification_queue"),
            models.Index(fields=["writeback_status", "updated_at"], name="classification_writeback"),
            # The triage backlog read from this row alone (no anti-join with reviews): a few hundred
            # rows however long the history is.
            models.Index(
                fields=["classified_at"],
                condition=Q(route="triage", status="done", current=True, reviewed_at__isnull=True),
                name="classification_awaiting",
            ),
        ]
        permissions = [("review_classification", "Can review classifications in triage")]

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.intent or '?'} ({self.route or self.status})"


class TriageReview(TimeStampedModel):
    """A reviewer's confirmation or correction of a classification."""

    classification = models.OneToOneField(Classification, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    intent = models.ForeignKey(Intent, on_delete=models.PROTECT, related_name="+")
    sub_intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    priority = models.ForeignKey(PriorityLevel, on_delete=models.PROTECT)
    complexity = models.ForeignKey(ComplexityLevel, on_delete=models.PROTECT)
    note = models.TextField(blank=True)
    agreed = models.BooleanField(help_text="The reviewer kept the AI's intent and sub-intent.")

    def __str__(self) -> str:
        return f"review of {self.classification_id}"
