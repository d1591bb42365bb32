"""Base models shared by every app, and the sweeper runs every app's sweepers record."""

import copy
import time

from django.conf import settings
from django.db import models

# Settings rows this process read, by model: (when the memo expires on time.monotonic(), the row).
_singletons: dict[type, tuple[float, "SingletonModel"]] = {}


def singletons_forget() -> None:
    """Forget every settings row this process read: the next load() reads the database."""
    _singletons.clear()


def _singleton_forget(model: type[models.Model]) -> None:
    # load() may have been called on a proxy of the same table: forget every class that reads it.
    table = model._meta.concrete_model
    for cls in [cls for cls in _singletons if cls._meta.concrete_model is table]:
        _singletons.pop(cls, None)


class SingletonQuerySet(models.QuerySet):
    """A settings row written past the model (update(), delete()) is forgotten in this process as well."""

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        _singleton_forget(self.model)
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        _singleton_forget(self.model)
        return deleted


class TimeStampedModel(models.Model):
    """Adds created/updated times to a model."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SingletonModel(models.Model):
    """Settings edited in the admin as one row (pk 1), made with its defaults on first use.

    load() reads the row at most once per SETTINGS_CACHE_SECONDS in each process: the pipelines read
    settings on every event. Any write through the ORM (save, update, delete) forgets it in the process
    that made it at once; other processes see the change within that time.
    """

    objects = SingletonQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _singleton_forget(type(self))

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        _singleton_forget(type(self))
        return deleted

    @classmethod
    def load(cls):
        now = time.monotonic()
        memo = _singletons.get(cls)
        if memo is not None and memo[0] > now:
            return _copy(memo[1])
        row, created = cls.objects.get_or_create(pk=1)
        ttl = settings.SETTINGS_CACHE_SECONDS
        # A row made just now may still be rolled back with the caller's transaction: read it again.
        if ttl > 0 and not created:
            _singletons[cls] = (now + ttl, _copy(row))
        return row


def _copy(row: SingletonModel) -> SingletonModel:
    """A row of its own for each caller: one that changes it (and maybe never saves) leaves the memo alone.

    A shallow copy (the model's own pickling: a new instance and state) with its JSON values copied
    deeply, a tenth of the cost of copy.deepcopy of the whole instance.
    """
    clone = copy.copy(row)
    for name, value in clone.__dict__.items():
        if isinstance(value, dict | list):
            clone.__dict__[name] = copy.deepcopy(value)
    return clone


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
