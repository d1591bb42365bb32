"""Enqueueing django-q2 tasks by dotted path once the current transaction commits."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django_q.brokers import get_broker
from django_q.tasks import async_task

from .lanes import CLUSTERS, cluster_for

logger = logging.getLogger(__name__)

# django-q2 lets a task run 3 s past Q_TIMEOUT before its guard (every 0.5 s) kills the worker.
TIMEOUT_MARGIN = timedelta(seconds=5)


def enqueue_on_commit(func_path: str, *args, task_name: str | None = None) -> None:
    """Enqueue `func_path(*args)` after commit, in the queue of its lane (bearscope.lanes).

    robust=True: a broker hiccup after the row is committed must not turn the caller (the
    webhook) into a 500; the row keeps its status and the sweeper enqueues it again.
    """

    def _enqueue() -> None:
        async_task(func_path, *args, task_name=task_name, cluster=cluster_for(func_path))

    transaction.on_commit(_enqueue, robust=True)


def enqueue_each_on_commit(func_path: str, pks: Iterable[int], *, name: str) -> None:
    """Enqueue `func_path(pk)` for each pk, named `<name>-<pk>`, once the transaction commits."""
    with transaction.atomic():
        for pk in pks:
            enqueue_on_commit(func_path, pk, task_name=f"{name}-{pk}")


def task_claim_expiry() -> timedelta:
    """How long a worker's claim on a row (started at, sending since) may last.

    Past the task timeout django-q2 has killed that worker, so an older claim belongs to a dead
    one: the redelivered task (or the sweeper) may take it over instead of waiting longer.
    """
    return timedelta(seconds=settings.Q_CLUSTER["timeout"]) + TIMEOUT_MARGIN


def tasks_waiting() -> int:
    """Tasks queued in every lane and not yet done: waiting, or taken by a worker and not yet acknowledged."""
    total = 0
    for cluster in set(CLUSTERS.values()):
        broker = get_broker(cluster)
        total += broker.queue_size() + (broker.lock_size() or 0)
    return total
