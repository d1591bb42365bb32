"""Enqueueing django-q2 tasks by dotted path once the current transaction commits."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from .lanes import CLUSTERS, TASK_LANES, cluster_for

logger = logging.getLogger(__name__)

# django-q2 lets a task run 3 s past Q_TIMEOUT before its guard (every 0.5 s) kills the worker.
TIMEOUT_MARGIN = timedelta(seconds=5)


def enqueue_on_commit(func_path: str, *args, task_name: str | None = None) -> None:
    """Enqueue `func_path(*args)` once the caller's transaction commits, in the queue of its lane
    (bearscope.lanes).

    With the database broker the task row is written in the caller's transaction instead: it
    commits with the caller's rows, or neither does, and the webhook pays for one commit, not two.
    With Redis, robust=True: a broker hiccup after the row is committed must not turn the caller
    (the webhook) into a 500; the row keeps its status and the sweeper enqueues it again.
    """
    cluster = cluster_for(func_path)
    # A lane task records its outcome on its own row (event status, classification, reply), so
    # django-q2's copy of each success would be written and pruned unread; failures are kept.
    options = {"task_name": task_name, "cluster": cluster, "save": func_path not in TASK_LANES}

    def _enqueue() -> None:
        async_task(func_path, *args, broker=broker_for(cluster), **options)

    if broker_in_transaction():
        _enqueue()
    else:
        transaction.on_commit(_enqueue, robust=True)


@cache
def broker_for(cluster: str) -> Broker:
    """One broker per lane and process: django-q2 makes a new one, and a new Redis connection, per
    task unless it is given one (redis-py reconnects on its own after a fork)."""
    return get_broker(cluster)


def broker_in_transaction() -> bool:
    """True when enqueueing is an insert into this database that may join the caller's
    transaction: the database broker on the default database, outside sync mode (where the task
    would run at once, inside the caller's transaction)."""
    return bool(Conf.ORM == DEFAULT_DB_ALIAS and not Conf.SYNC)


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
        broker = broker_for(cluster)
        total += broker.queue_size() + (broker.lock_size() or 0)
    return total
