"""Base models shared by every app, and the sweeper runs every app's sweepers record."""

from django.db import models


class TimeStampedModel(models.Model):
    """Adds created/updated times to a model."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SingletonModel(models.Model):
    """Settings edited in the admin as one row (pk 1), made with its defaults on first use."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        return cls.objects.get_or_create(pk=1)[0]


class SweepRun(models.Model):
    """One run of a periodic sweeper: what it found stuck and queued again, for the admin."""

    sweeper = models.CharField(max_length=64, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    requeued = models.JSONField(
        default=list, help_text='What was queued again: [{"kind", "model", "ids"}], one entry per step.'
    )
    total = models.PositiveIntegerField(default=0, help_text="How many rows were queued again.")
    error = models.TextField(blank=True, default="", help_text="Steps that failed, and why.")

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "sweeper run"

    def __str__(self) -> str:
        return f"{self.sweeper} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def summary(self) -> str:
        return ", ".join(f"{step['kind']} {len(step['ids'])}" for step in self.requeued) or "nothing to do"


class PromptVersion(models.Model):
    """A system prompt's full text, stored once per distinct text of a pipeline (classifier, insights)."""

    kind = models.CharField(max_length=32, help_text="Which pipeline's prompt: classifier or insights.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the text; its first 12 name it.")
    text = models.TextField(help_text="The static prompt exactly as sent, before the conversation.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    changed = models.TextField(blank=True, help_text="Which sections changed from the previous version.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "sha256"], name="promptversion_unique_text")]

    def __str__(self) -> str:
        return f"{self.kind} prompt {self.version}"

    @property
    def version(self) -> str:
        return self.sha256[:12]

    def previous(self) -> "PromptVersion | None":
        return PromptVersion.objects.filter(kind=self.kind, pk__lt=self.pk).order_by("-pk").first()
