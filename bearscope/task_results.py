"""Pruning of django-q2's stored task results, which it keeps without limit (save_limit 0)."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Success


def task_results_prune(*, older_than: timedelta) -> int:
    """Delete successful task results that finished before `older_than` ago; failures stay for the admin."""
    cutoff = timezone.now() - older_than
    deleted, _ = Success.objects.filter(stopped__lt=cutoff).delete()
    return deleted
