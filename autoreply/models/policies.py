"""Auto-reply policies per intent, and the audit of their mode changes."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bearscope.models import TimeStampedModel

from .settings import UNIT_INTERVAL, Mode
from .templates import ReplyTemplate


class AutoReplyPolicy(TimeStampedModel):
    """Whether and how an intent (or one of its sub-intents) is auto-replied."""

    class DataCheck(models.TextChoices):
        NONE = "none", "None"
        ORDER = "order", "Order belongs to the customer"

    intent = models.ForeignKey(
        "classification.Intent",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": True},
    )
    sub_intent = models.ForeignKey(
        "classification.Intent",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": False},
        help_text="Empty: every sub-intent of the intent (a sub-intent's own policy wins).",
    )
    mode = models.CharField(max_length=8, choices=Mode, default=Mode.OFF)
    threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        validators=UNIT_INTERVAL,
        help_text="Classification confidence at or above which a reply may go out.",
    )
    template = models.ForeignKey(ReplyTemplate, on_delete=models.PROTECT, related_name="policies")
    data_check = models.CharField(max_length=8, choices=DataCheck, default=DataCheck.ORDER)
    template_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the policy last switched to another template; readiness counts grades made since.",
    )

    class Meta:
        verbose_name_plural = "auto-reply policies"
        constraints = [
            models.UniqueConstraint(
                fields=["intent"], condition=Q(sub_intent__isnull=True), name="policy_unique_intent"
            ),
            models.UniqueConstraint(fields=["intent", "sub_intent"], name="policy_unique_sub_intent"),
        ]

    def __str__(self) -> str:
        return f"{self.intent.key} / {self.sub_intent.key}" if self.sub_intent_id else self.intent.key

    def clean(self) -> None:
        if self.sub_intent_id and self.intent_id and self.sub_intent.parent_id != self.intent_id:
            raise ValidationError({"sub_intent": "The sub-intent must belong to the intent."})


class PolicyAudit(TimeStampedModel):
    """A change of a policy's mode or threshold: who, from what to what, why, and readiness then."""

    policy = models.ForeignKey(AutoReplyPolicy, on_delete=models.CASCADE, related_name="audits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=150, help_text="The user, or the command that made the change.")
    mode_before = models.CharField(max_length=8, blank=True)
    mode_after = models.CharField(max_length=8)
    threshold_before = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    threshold_after = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    readiness = models.JSONField(default=dict, help_text="The readiness figures at the time.")
    override_reason = models.TextField(blank=True, help_text="Why live was allowed below the readiness bar.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.mode_before or '-'} → {self.mode_after}"
