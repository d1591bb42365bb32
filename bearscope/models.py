"""Abstract base models shared by every app."""

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
