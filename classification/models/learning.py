"""What the classifiers learn from: approved prompt examples, labelled examples, local models."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bearscope.models import TimeStampedModel

from .classifications import Classification
from .taxonomy import Intent


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
