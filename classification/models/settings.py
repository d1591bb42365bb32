"""Classifier settings: the one row ops leaders edit in the admin."""

from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from bearscope.models import SingletonModel

from .taxonomy import UNIT_INTERVAL


def classifier_model_default() -> str:
    return settings.CLASSIFIER_MODEL_ID


class ClassifierSettings(SingletonModel):
    """One row (pk 1) of settings, edited in the admin."""

    enabled = models.BooleanField(default=True, help_text="Off: new conversations are not classified.")
    model_id = models.CharField(
        max_length=64,
        default=classifier_model_default,
        verbose_name="Claude model",
        help_text="Made for classification and routing: cheap and fast. Its price per token is shown above.",
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
