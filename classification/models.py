"""The taxonomy ops leaders edit, the classifier's settings, classifications, reviews and local models."""

from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from bearscope.models import SingletonModel, TimeStampedModel

from .reasons import ProviderReason, ReclassifyReason, RouteReason

UNIT_INTERVAL = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


class Intent(TimeStampedModel):
    """An intent (no parent) or a sub-intent (parent is an intent); two levels only."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sub_intents",
        limit_choices_to={"parent__isnull": True},
        help_text="Empty for an intent; the intent for a sub-intent.",
    )
    key = models.SlugField(
        max_length=64, help_text="Stable identifier written to Kustomer, e.g. shipping_issue."
    )
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True, help_text="What belongs here; the classifier reads it.")
    examples = models.TextField(blank=True, help_text="Example customer messages, one per line.")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    auto_route_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=UNIT_INTERVAL,
        help_text="Overrides the global auto-route threshold for this intent (intents only).",
    )
    default_priority = models.ForeignKey(
        "PriorityLevel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Priority when the local classifier decides alone (a sub-intent's wins over its "
        "intent's; empty: the lowest priority).",
    )
    default_complexity = models.ForeignKey(
        "ComplexityLevel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Complexity when the local classifier decides alone (a sub-intent's wins over its "
        "intent's; empty: the lowest complexity).",
    )

    class Meta:
        ordering = ["parent__position", "position", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(parent__isnull=True), name="intent_unique_key"
            ),
            models.UniqueConstraint(fields=["parent", "key"], name="intent_unique_sub_key"),
        ]

    def __str__(self) -> str:
        return f"{self.parent.key} / {self.key}" if self.parent_id else self.key

    def clean(self) -> None:
        if self.parent_id and self.parent.parent_id:
            raise ValidationError({"parent": "Sub-intents cannot have sub-intents (two levels only)."})
        if self.parent_id and self.auto_route_threshold is not None:
            raise ValidationError(
                {"auto_route_threshold": "Set thresholds on the intent, not the sub-intent."}
            )

    @property
    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]


class PriorityLevel(models.Model):
    key = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    kustomer_priority = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Kustomer's priority, 1 (lowest) to 5.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class ComplexityLevel(models.Model):
    key = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class BusinessRule(TimeStampedModel):
    text = models.TextField(help_text="A rule the classifier must follow, in plain words.")
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text[:80]


def classifier_model_default() -> str:
    return settings.CLASSIFIER_MODEL_ID


class ClassifierSettings(SingletonModel):
    """One row (pk 1) of settings, edited in the admin."""

    enabled = models.BooleanField(default=True, help_text="Off: new conversations are not classified.")
    model_id = models.CharField(
        max_length=64,
        default=classifier_model_default,
        verbose_name="Claude model",
        help_text="Made for classification and routing: cheap and fast."
        " Its price per token is shown above.",
    )
    auto_route_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.900"),
        validators=UNIT_INTERVAL,
        help_text="Confidence at or above which a classification routes automatically.",
    )
    max_tokens = models.PositiveIntegerField(default=1024)
    conversation_char_budget = models.PositiveIntegerField(
        default=6000, help_text="Longest customer text sent to the classifier; the rest is cut."
    )
    redact_personal_data = models.BooleanField(
        default=True,
        help_text="Replace email addresses, phone numbers, card numbers, IBANs and the customer's own "
        "name by placeholders before any text goes to a model (classification and insights).",
    )
    phone_region = models.CharField(
        max_length=2,
        default="US",
        help_text="Your store's country (two letters, e.g. US, GB): how phone numbers written without "
        "a country code are read when redacting.",
    )
    local_offline_default = models.BooleanField(
        default=True,
        verbose_name="local classifier when there is no API key",
        help_text="With no ANTHROPIC_API_KEY, the local classifier classifies (routing as for Claude).",
    )
    local_fallback = models.BooleanField(
        default=True,
        verbose_name="local classifier when Claude fails",
        help_text="When Claude fails after its retries (or answers unusably), the local classifier "
        "classifies; it routes automatically only at or above the fallback threshold.",
    )
    local_fallback_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        validators=UNIT_INTERVAL,
        help_text="Local confidence at or above which a fallback result routes automatically.",
    )
    local_cascade = models.BooleanField(
        default=False,
        verbose_name="cascade: skip Claude when the local classifier is sure",
        help_text="The local classifier goes first; at or above the cascade threshold Claude is not "
        "called, and priority and complexity come from the intent's defaults.",
    )
    local_cascade_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        validators=UNIT_INTERVAL,
        help_text="Local confidence at or above which Claude is skipped (cascade on).",
    )
    local_retrain_min_reviews = models.PositiveIntegerField(
        default=50,
        verbose_name="retrain after this many new reviews",
        help_text="The retrain schedule trains a new local model once this many triage reviews have "
        "arrived since the active one was trained.",
    )
    min_meaningful_words = models.PositiveSmallIntegerField(
        default=3,
        verbose_name="minimum meaningful words",
        help_text="Fewer words that say what the customer wants (greetings, thanks and fillers do not "
        "count) is too little text: the local classifier lowers its confidence, and the customer's next "
        "message classifies the conversation again.",
    )
    max_reclassifications = models.PositiveSmallIntegerField(
        default=3,
        help_text="At most this many automatic re-classifications per conversation (0: never).",
    )
    reclassify_debounce_seconds = models.PositiveIntegerField(
        default=20,
        verbose_name="re-classification wait (seconds)",
        help_text="Wait this long after the customer's latest message before classifying again, so "
        "that a burst of messages gives one re-classification.",
    )

    audit_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.050"),
        validators=UNIT_INTERVAL,
        verbose_name="audit share",
        help_text="Share of automatically routed conversations that also enter the triage queue as blind "
        "audits (0.05 = 5%; 0: none).",
    )
    audit_window = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1)],
        verbose_name="audit window",
        help_text="Agreement is checked over this many most recent audits.",
    )
    audit_agreement_floor = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.850"),
        validators=UNIT_INTERVAL,
        verbose_name="audit agreement floor",
        help_text="Below this agreement on the audit window, the quality page warns and an error is logged.",
    )
    audit_drift_logged_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the drift below the floor was logged; cleared once agreement is back above it.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "classifier settings"

    def __str__(self) -> str:
        return "Classifier settings"

    def clean(self) -> None:
        self.phone_region = self.phone_region.upper()
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError({"phone_region": "Not a country code phone numbers know, e.g. US or GB."})


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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(current=True), name="classification_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["route", "status", "classified_at"], name="classification_queue"),
            models.Index(fields=["writeback_status", "updated_at"], name="classification_writeback"),
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


class PromptExample(TimeStampedModel):
    """A customer message an admin approved as a few-shot example in the classifier's prompt."""

    text = models.TextField(help_text="The message as the classifier sees it (personal data redacted).")
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="+")
    sub_intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(default=True, help_text="Off: left out of the prompt.")
    source = models.ForeignKey(
        Classification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["intent__position", "pk"]
        verbose_name = "few-shot example"

    def __str__(self) -> str:
        return self.text[:80]


class LabelledExample(TimeStampedModel):
    """A labelled customer message imported from a CSV file, to train the local classifier."""

    text = models.TextField()
    text_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="+")
    sub_intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=255, blank=True, help_text="The file it was imported from.")

    class Meta:
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:80]


class LocalModelVersion(TimeStampedModel):
    """One trained local classifier: who trained it, on what, how well it did, and the model itself.

    The artifact lives in the database so that every web and worker node loads the same model.
    """

    active = models.BooleanField(default=False)
    trained_by = models.CharField(max_length=150, help_text="A user, the retrain schedule, or the demo.")
    example_count = models.PositiveIntegerField()
    label_count = models.PositiveIntegerField()
    sources = models.JSONField(default=dict, help_text="Examples per source: intents, reviews, imports.")
    last_review_id = models.PositiveBigIntegerField(
        default=0, help_text="The newest triage review in the training data."
    )
    data_sha256 = models.CharField(max_length=64, help_text="Fingerprint of the training data.")
    validation = models.JSONField(default=dict, help_text="Cross-validated figures on the training data.")
    train_seconds = models.FloatField()
    sklearn_version = models.CharField(max_length=32)
    artifact = models.BinaryField(editable=False)
    artifact_bytes = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="local_model_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"local model v{self.pk}"


class ContactReasonMapping(TimeStampedModel):
    """A value of a Kustomer conversation attribute the team fills in, and the intent it stands for."""

    attribute = models.CharField(
        max_length=128,
        default="contactReasonStr",
        help_text="The conversation custom attribute agents fill in, e.g. contactReasonStr.",
    )
    value = models.CharField(max_length=255, help_text="The value as agents pick it, e.g. Where is my order.")
    intent = models.ForeignKey(
        Intent, on_delete=models.CASCADE, related_name="+", limit_choices_to={"parent__isnull": True}
    )
    sub_intent = models.ForeignKey(
        Intent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": False},
        help_text="Empty when the value names the intent only.",
    )

    class Meta:
        ordering = ["attribute", "value"]
        constraints = [
            models.UniqueConstraint(fields=["attribute", "value"], name="contact_reason_unique_value"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute} = {self.value}"

    def clean(self) -> None:
        if self.intent_id and self.intent.parent_id:
            raise ValidationError({"intent": "Choose an intent, not a sub-intent."})
        if self.sub_intent_id and self.sub_intent.parent_id != self.intent_id:
            raise ValidationError({"sub_intent": "The sub-intent must belong to the intent."})


class ImportedLabel(TimeStampedModel):
    """A reference label for a conversation from a CSV file (backtest_labels_import)."""

    conversation = models.OneToOneField(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="imported_label"
    )
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="+")
    sub_intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=255, blank=True, help_text="The file it was imported from.")

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.intent}"
