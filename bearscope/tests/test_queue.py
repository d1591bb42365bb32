"""Enqueueing: one broker per lane, the task row in the caller's transaction with the database
broker, no stored successes for lane tasks."""

import pytest
from django.db import transaction
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from bearscope import queue
from bearscope.lanes import CLUSTERS, DECISIONS


@pytest.mark.django_db
def test_each_lane_keeps_one_broker():
    assert queue.broker_for(CLUSTERS[DECISIONS]) is queue.broker_for(CLUSTERS[DECISIONS])
    assert queue.broker_for(CLUSTERS[DECISIONS]) is not queue.broker_for("bearscope")


@pytest.fixture
def database_broker(monkeypatch):
    """The production broker of a small install: tasks as rows, no sync mode."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    queue.broker_for.cache_clear()
    yield
    queue.broker_for.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_with_the_database_broker_the_task_commits_or_rolls_back_with_the_caller(database_broker, settings):
    settings.QUEUE_LANES = True
    with transaction.atomic():
        queue.enqueue_on_commit("classification.tasks.conversation_classify", 7, task_name="classify-7")
        # Inside the caller's transaction already: no second commit after it.
        assert OrmQ.objects.count() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue_on_commit("classification.tasks.conversation_classify", 8, task_name="classify-8")
        raise RuntimeError("the caller fails")
    (row,) = OrmQ.objects.all()
    task = SignedPackage.loads(row.payload)
    assert (row.key, task["name"], task["args"]) == (CLUSTERS[DECISIONS], "classify-7", (7,))
    # The classification row records the outcome; django-q2 keeps no copy of a success.
    assert task["save"] is False


@pytest.mark.django_db(transaction=True)
def test_background_tasks_keep_their_results(database_broker):
    queue.enqueue_on_commit("intelligence.tasks.conversation_analyse", 3, task_name="analyse-3")
    task = SignedPackage.loads(OrmQ.objects.get().payload)
    assert task["save"] is True
