"""Settings rows read once per SETTINGS_CACHE_SECONDS in a process, forgotten there on any ORM write."""

import pytest
from django.db import connection

from autoreply.models import OrderMapping
from bearscope import models as singletons
from classification.models import ClassifierSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def memo(settings):
    """The memo on, as in production, over a row that already exists."""
    settings.SETTINGS_CACHE_SECONDS = 5
    ClassifierSettings.objects.get_or_create(pk=1)
    OrderMapping.objects.get_or_create(pk=1)


@pytest.fixture
def clock(monkeypatch):
    """time.monotonic() as the memo reads it, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(singletons.time, "monotonic", lambda: now[0])
    return now


def test_read_once_within_the_time(memo, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = ClassifierSettings.load()
        again = ClassifierSettings.load()
    assert again.pk == first.pk == 1 and again.max_tokens == first.max_tokens


def another_process_sets_max_tokens(value: int) -> None:
    """A write this process's ORM does not see: as the admin's save in the web server, seen by a worker."""
    table = ClassifierSettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET max_tokens = %s WHERE id = 1", [value])  # noqa: S608


def test_another_process_s_change_is_seen_once_the_time_has_passed(memo, clock, django_assert_num_queries):
    ClassifierSettings.load()
    another_process_sets_max_tokens(321)
    clock[0] += 4.9
    with django_assert_num_queries(0):
        assert ClassifierSettings.load().max_tokens != 321
    clock[0] += 0.2
    with django_assert_num_queries(1):
        assert ClassifierSettings.load().max_tokens == 321


def test_any_write_through_the_orm_is_seen_at_once_in_this_process(memo):
    row = ClassifierSettings.load()
    row.max_tokens = 654
    row.save()
    assert ClassifierSettings.load().max_tokens == 654
    ClassifierSettings.objects.update_or_create(pk=1, defaults={"max_tokens": 655})
    assert ClassifierSettings.load().max_tokens == 655
    ClassifierSettings.objects.filter(pk=1).update(max_tokens=656)  # as tests and audit_drift_check do
    assert ClassifierSettings.load().max_tokens == 656
    ClassifierSettings.objects.all().delete()
    assert ClassifierSettings.load().max_tokens != 656  # made again with its defaults


def test_deleting_forgets_at_once(memo):
    ClassifierSettings.load().delete()
    assert ClassifierSettings.load().pk == 1
    assert ClassifierSettings.objects.filter(pk=1).exists()  # made again with its defaults


def test_each_caller_gets_its_own_row(memo):
    mapping = OrderMapping.load()
    mapping.klass_name = "changed, never saved"
    mapping.status_labels = {"shipped": "changed"}
    again = OrderMapping.load()
    again.status_labels["shipped"] = "changed in place"
    third = OrderMapping.load()
    assert third.klass_name != "changed, never saved"
    assert third.status_labels.get("shipped") != "changed in place"
    assert third._state is not again._state and not third._state.adding


def test_a_row_made_now_is_read_again(memo, django_assert_num_queries):
    # Made inside the caller's transaction, it may be rolled back with it: not kept.
    ClassifierSettings.objects.all().delete()
    ClassifierSettings.load()
    with django_assert_num_queries(1):
        ClassifierSettings.load()
    with django_assert_num_queries(0):
        ClassifierSettings.load()


def test_zero_reads_every_time(memo, settings, django_assert_num_queries):
    settings.SETTINGS_CACHE_SECONDS = 0
    with django_assert_num_queries(2):
        ClassifierSettings.load()
        ClassifierSettings.load()


def test_forget_all(memo, django_assert_num_queries):
    ClassifierSettings.load()
    OrderMapping.load()
    singletons.singletons_forget()
    with django_assert_num_queries(2):
        ClassifierSettings.load()
        OrderMapping.load()


def test_saving_one_model_forgets_only_its_row(memo, django_assert_num_queries):
    ClassifierSettings.load()
    OrderMapping.load().save()
    with django_assert_num_queries(1):
        assert isinstance(ClassifierSettings.load(), ClassifierSettings)
        assert isinstance(OrderMapping.load(), OrderMapping)
