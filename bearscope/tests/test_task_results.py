"""Successful task results are kept for Q_RESULT_DAYS and pruned daily; failures stay."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule, Task

from bearscope.tasks import task_results_prune

pytestmark = pytest.mark.django_db


def result(name: str, *, days_ago: int, success: bool) -> Task:
    stopped = timezone.now() - timedelta(days=days_ago)
    return Task.objects.create(
        id=name, name=name, func="math.floor", started=stopped, stopped=stopped, success=success
    )


def test_old_successes_go_recent_ones_and_failures_stay(settings):
    settings.Q_RESULT_DAYS = 7
    result("old-ok", days_ago=8, success=True)
    result("new-ok", days_ago=6, success=True)
    result("old-failed", days_ago=30, success=False)
    assert task_results_prune() == "deleted 1 task results, 0 sweeper runs"
    assert set(Task.objects.values_list("name", flat=True)) == {"new-ok", "old-failed"}


def test_the_pruning_is_scheduled_daily_and_results_are_not_pruned_per_task(settings):
    schedule = Schedule.objects.get(func="bearscope.tasks.task_results_prune")
    assert schedule.schedule_type == Schedule.DAILY
    # A positive save_limit makes every task load all stored successes to prune by count.
    assert settings.Q_CLUSTER["save_limit"] == 0
