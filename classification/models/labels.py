"""Reference labels for backtests: contact reason mappings and imported labels."""

from django.core.exceptions import ValidationError
from django.db import models

from bearscope.models import TimeStampedModel

from .taxonomy import Intent


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
