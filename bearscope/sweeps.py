"""Sweeper runs: each periodic sweeper re-enqueues what is stuck and records what it did for the admin."""

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import models
from django.utils import timezone

from .models import SweepRun

logger = logging.getLogger(__name__)

# The most rows one sweeper step queues again in a run; the next run takes the rest.
SWEEP_BATCH = 500
# (what the admin calls it, the model the ids belong to, the step: queues rows again, returns their ids)
SweepStep = tuple[str, type[models.Model], Callable[[], Sequence[int]]]


def sweep_run(*, sweeper: str, steps: Sequence[SweepStep]) -> SweepRun:
    """Run each step and record one SweepRun; a failing step is recorded and does not stop the others."""
    started_at = timezone.now()
    clock = time.monotonic()
    requeued: list[dict] = []
    errors: list[str] = []
    for kind, model, step in steps:
        try:
            ids = list(step())
        except Exception as exc:  # the next steps still deserve their run; the admin shows the error
            logger.exception("%s: step %r failed", sweeper, kind)
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        requeued.append({"kind": kind, "model": model._meta.label_lower, "ids": ids})
    return SweepRun.objects.create(
        sweeper=sweeper,
        started_at=started_at,
        duration_ms=round((time.monotonic() - clock) * 1000),
        requeued=requeued,
        total=sum(len(step["ids"]) for step in requeued),
        error="\n".join(errors),
    )


def sweep_runs_prune(*, older_than: timedelta) -> int:
    """Delete sweeper runs that started before `older_than` ago."""
    deleted, _ = SweepRun.objects.filter(started_at__lt=timezone.now() - older_than).delete()
    return deleted
