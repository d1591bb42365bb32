"""The taxonomy: intents and their sub-intents, priority and complexity levels, business rules."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from bearscope.models import TimeStampedModel

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
