"""Backlog, agreement, sentiment and filter choices: the review row and the rollups give the live figures."""

import importlib
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from django.apps import apps
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from classification.models import Classification, TriageReview
from classification.tests.factories import ClassificationFactory, IntentFactory, TriageReviewFactory
from intelligence import rollups
from intelligence.dashboards.drilldown import drilldown
from intelligence.dashboards.filters import filters_from
from intelligence.dashboards.pages import BACKLOG_BANDS, agreement_panel, backlog_panel, filter_choices
from intelligence.dashboards.panels import _periods, analyses_in, segment_cells, sentiment_cells
from intelligence.models import (
    AgreementRollup,
    ConversationAnalysis,
    DailyChoice,
    DailyRollup,
    SentimentRollup,
)

from .factories import AnalysisFactory

pytestmark = pytest.mark.django_db
MIGRATION = "intelligence.migrations.0008_dashboard_rollups"


def live_agreement(filters) -> list[list]:
    """The agreement panel's rows as they were counted before the rollup: every review in the range."""
    low, high = filters.bounds
    reviews = TriageReview.objects.filter(created_at__gte=low, created_at__lt=high)
    if filters.intent:
        reviews = reviews.filter(classification__intent__key=filters.intent)
    if filters.language:
        reviews = reviews.filter(classification__language=filters.language)
    rows = reviews.values("classification__intent__name").annotate(
        total=Count("pk"), agreed=Count("pk", filter=Q(agreed=True))
    )
    table = [
        [r["classification__intent__name"] or "No intent", r["total"], r["agreed"]] for r in rows.order_by()
    ]
    table = [[name, total, agreed, f"{agreed / total:.0%}"] for name, total, agreed in table]
    return sorted(table, key=lambda row: (-row[1], row[0]))


def live_backlog(filters) -> list[int]:
    """The backlog's counts per age band as they were counted before `reviewed_at`: an anti-join."""
    now = timezone.now()
    waiting = Classification.objects.filter(route="triage", status="done", current=True, review__isnull=True)
    if filters.intent:
        waiting = waiting.filter(intent__key=filters.intent)
    counts = []
    for _, _, low, high in BACKLOG_BANDS:
        band = waiting.filter(classified_at__lte=now - low) if low else waiting
        counts.append((band.filter(classified_at__gt=now - high) if high else band).count())
    return counts


def reviewed_on(days_ago: int, at: time, *, intent, agreed: bool, language: str) -> TriageReview:
    """A review made `days_ago` days before today (UTC) at `at`, of a classification of `intent`."""
    when = datetime.combine(timezone.now().date() - timedelta(days=days_ago), at, tzinfo=UTC)
    classification = ClassificationFactory(intent=intent, language=language, classified_at=when)
    # The reviewer's own intent does not count here, only whether they kept the AI's.
    review = TriageReviewFactory(
        classification=classification, intent=intent or IntentFactory(key="other"), agreed=agreed
    )
    TriageReview.objects.filter(pk=review.pk).update(created_at=when)
    Classification.objects.filter(pk=classification.pk).update(reviewed_at=when)
    return review


@pytest.fixture
def reviews():
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue")
    account = IntentFactory(key="account_access", name="Account access")
    order = IntentFactory(key="order_issue", name="Order issue")
    noon, first, last = time(12), time(0, 0, 0), time(23, 59, 59, 999999)
    for offset, at, intent, agreed, language in [
        (400, noon, shipping, True, "en"),  # older than a year
        (200, noon, shipping, False, "en"),
        (40, noon, account, True, "fr"),
        (10, last, shipping, True, "en"),  # the last instant of a rollup day
        (9, first, shipping, False, "fr"),  # the first instant of the next one
        (9, noon, order, True, ""),
        (2, last, account, False, "en"),  # the last day read from the rollup
        (1, first, account, True, "en"),  # the first day read live
        (1, noon, order, False, "fr"),
        (0, first, shipping, True, "en"),
        (0, noon, None, False, ""),  # the classifier failed: no AI intent
    ]:
        reviewed_on(offset, at, intent=intent, agreed=agreed, language=language)
    rollups.rollup_refresh_all()


def test_rollup_rows_are_the_live_count_per_day_and_intent(reviews):
    rows = AgreementRollup.objects.values_list("day", "intent_id", "reviewed", "agreed")
    live = rollups.agreement_compute(TriageReview.objects.all())
    assert sorted(rows, key=str) == sorted(
        ((c["day"], c["ai_intent"], c["reviewed"], c["agreed"]) for c in live), key=str
    )
    assert len(rows) == 11  # one per day and AI intent


@pytest.mark.parametrize(
    "params",
    [
        {},  # the last 30 days
        {"start": 364},  # a year
        {"start": 800},  # everything
        {"start": 30, "end": 3},  # only rollup days
        {"start": 10, "end": 9},  # across the midnight between two rollup days
        {"start": 2, "end": 1},  # the last rollup day and the first live one
        {"start": 0},  # today only
        {"start": 364, "intent": "shipping_issue"},
        {"start": 364, "intent": "account_access"},
        {"start": 364, "language": "fr"},  # not a rollup dimension: counted live
        {"start": 364, "intent": "shipping_issue", "language": "en"},
    ],
)
def test_the_panel_shows_the_live_figures(reviews, params):
    today = timezone.now().date()
    days = {k: (today - timedelta(days=v)).isoformat() for k, v in params.items() if k in ("start", "end")}
    filters = filters_from({**params, **days})
    assert agreement_panel(filters).rows == live_agreement(filters)


def test_past_days_are_read_from_the_rollup_until_it_is_rebuilt(reviews):
    today = timezone.now().date()
    filters = filters_from({"start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat()})
    shown = agreement_panel(filters).rows
    TriageReview.objects.filter(created_at__lt=rollups.agreement_live_since()).update(agreed=False)
    assert agreement_panel(filters).rows == shown != live_agreement(filters)
    rollups.rollup_refresh_all()
    assert agreement_panel(filters).rows == live_agreement(filters) != shown


def test_a_new_review_counts_at_once_and_the_refresh_rolls_it_up(reviews):
    filters = filters_from({"start": (timezone.now().date() - timedelta(days=364)).isoformat()})
    before = agreement_panel(filters).rows
    TriageReviewFactory(classification=ClassificationFactory(intent=IntentFactory(key="order_issue")))
    after = agreement_panel(filters).rows
    assert after == live_agreement(filters) != before
    assert rollups.rollup_refresh_recent() == 1  # today's reviews
    today = AgreementRollup.objects.filter(day=timezone.now().date())
    assert sum(today.values_list("reviewed", flat=True)) == 3
    assert agreement_panel(filters).rows == after


def test_the_migrations_fill_review_times_and_the_rollup_for_existing_rows(reviews):
    Classification.objects.update(reviewed_at=None)
    AgreementRollup.objects.all().delete()
    importlib.import_module("classification.migrations.0015_awaiting_review").reviewed_at_fill(apps, None)
    importlib.import_module(MIGRATION).agreement_fill(apps, None)
    for classification in Classification.objects.select_related("review"):
        assert classification.reviewed_at == classification.review.created_at
    rows = set(AgreementRollup.objects.values_list("day", "intent_id", "reviewed", "agreed"))
    rollups.rollup_refresh_all()
    assert rows == set(AgreementRollup.objects.values_list("day", "intent_id", "reviewed", "agreed"))


def test_the_backlog_counts_triage_items_until_they_are_reviewed():
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue")
    account = IntentFactory(key="account_access", name="Account access")
    now = timezone.now()
    waiting = [(0.5, shipping), (2, shipping), (2, account), (10, account), (30, shipping), (100, shipping)]
    for hours, intent in waiting:
        ClassificationFactory(intent=intent, classified_at=now - timedelta(hours=hours))
    reviewed = ClassificationFactory(intent=shipping, classified_at=now - timedelta(hours=2))
    ClassificationFactory(intent=shipping, route="auto", route_reason="")  # never in triage
    ClassificationFactory(intent=shipping, current=False)  # classified again since
    for params in ({}, {"intent": "shipping_issue"}, {"intent": "account_access"}):
        filters = filters_from(params)
        counts = [row[1] for row in backlog_panel(filters).rows]
        assert counts == live_backlog(filters)
    everything = filters_from({})
    assert [row[1] for row in backlog_panel(everything).rows] == [1, 3, 1, 1, 1]
    TriageReviewFactory(classification=reviewed)
    assert [row[1] for row in backlog_panel(everything).rows] == [1, 2, 1, 1, 1] == live_backlog(everything)
    assert drilldown({"list": "backlog", "age": "1-4h"}).total == 2


def live_sentiment(filters) -> Counter:
    """The sentiment panels' counts as they were read before the rollup: every analysis in the range."""
    current = Classification.objects.filter(conversation=OuterRef("conversation"), current=True)
    rows = (
        analyses_in(filters)
        .annotate(day=TruncDate("resolved_at"), sentiment=Subquery(current.values("sentiment")[:1]))
        .values("day", "intent", "sentiment")
        .annotate(conversations=Count("pk"))
        .order_by()
    )
    return counted(
        ({**r, "sentiment": r["sentiment"] or ""} for r in rows), filters
    )  # not known, or no classification


def counted(cells, filters, key: str = "sentiment", count: str = "conversations") -> Counter:
    """Cells added up per chart period (a day, or a week in long ranges), intent and `key`."""
    _, period, _ = _periods(filters)
    total = Counter()
    for cell in cells:
        total[(period(cell["day"]), cell["intent"], cell.get(key))] += cell[count]
    return +total


def live_choices(filters) -> dict[str, set[str]]:
    """The filters' values as they were read before DailyChoice: from the rollups, languages live."""
    grains = {"intent": "intent", "channel": "segment", "team": "agent", "agent": "agent"}
    choices = {}
    for name, grain in grains.items():
        rows = DailyRollup.objects.filter(grain=grain, day__gte=filters.start, day__lte=filters.end)
        choices[name] = set(rows.exclude(**{name: ""}).values_list(name, flat=True))
    low, high = filters.bounds
    resolved = {"current": True, "resolved_at__gte": low, "resolved_at__lt": high}
    found = Classification.objects.filter(
        current=True, **{f"conversation__analyses__{name}": value for name, value in resolved.items()}
    )
    choices["language"] = set(found.exclude(language="").values_list("language", flat=True))
    return choices


def offered(filters) -> dict[str, set[str]]:
    return {name: {value for value, _ in values} for name, values in filter_choices(filters).items()}


@pytest.fixture
def classified():
    """Analyses over a year, their conversations classified with a sentiment and a language or not at all."""
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue")
    account = IntentFactory(key="account_access", name="Account access")
    now = timezone.now()
    for days, intent, sentiment, language in [
        (300, shipping, "negative", "es"),
        (40, shipping, "positive", "en"),
        (40, account, "negative", "en"),
        (5, shipping, "", "de"),  # no sentiment found
        (5, shipping, None, None),  # never classified
        (1, account, "neutral", "fr"),
        (0, shipping, "negative", ""),  # no language found
    ]:
        analysis = AnalysisFactory(
            resolved_at=now - timedelta(days=days),
            intent=intent.key,
            channel="chat" if days % 2 else "email",
            team=f"team-{days % 3}",
            agent=f"agent-{days}",
        )
        if sentiment is not None:
            conversation = analysis.conversation
            ClassificationFactory(
                conversation=conversation, current=False, sentiment="positive", language="it"
            )
            ClassificationFactory(
                conversation=conversation, intent=intent, sentiment=sentiment, language=language
            )
    waiting = AnalysisFactory(resolved_at=now - timedelta(days=2), status=ConversationAnalysis.Status.WAITING)
    ClassificationFactory(conversation=waiting.conversation, sentiment="negative", language="pt")
    AnalysisFactory(resolved_at=now - timedelta(days=3), current=False)  # an earlier resolution
    rollups.rollup_refresh_all()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start": 364},
        {"start": 3, "end": 1},
        {"start": 364, "intent": "shipping_issue"},
        {"channel": "chat"},
    ],
)
def test_sentiment_and_languages_from_the_rollup_are_the_live_figures(classified, params):
    today = timezone.now().date()
    days = {k: (today - timedelta(days=v)).isoformat() for k, v in params.items() if k in ("start", "end")}
    filters = filters_from({**params, **days})
    assert counted(sentiment_cells(filters), filters) == live_sentiment(filters)
    assert offered(filters) == live_choices(filters)


@pytest.mark.parametrize("start", [29, 61, 62, 364])
def test_volume_and_routing_per_week_in_long_ranges_are_the_daily_figures(classified, start):
    filters = filters_from({"start": (timezone.now().date() - timedelta(days=start)).isoformat()})
    daily = rollups.cells_compute(analyses_in(filters), ("intent",), breakdowns=False)
    for count in ("conversations", "auto_routed", "triaged", "effort_count"):
        assert counted(segment_cells(filters), filters, count=count) == counted(daily, filters, count=count)
    _, period, _ = _periods(filters)
    assert len(segment_cells(filters)) == len({(period(c["day"]), c["intent"]) for c in daily})


def test_a_conversation_classified_again_counts_with_its_new_sentiment_after_the_refresh(classified):
    filters = filters_from({"start": (timezone.now().date() - timedelta(days=364)).isoformat()})
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ConversationAnalysis.objects.update(updated_at=an_hour_ago)
    Classification.objects.update(created_at=an_hour_ago, classified_at=an_hour_ago)
    old = ConversationAnalysis.objects.filter(intent="account_access").order_by("resolved_at").first()
    Classification.objects.filter(conversation=old.conversation).update(current=False)
    ClassificationFactory(conversation=old.conversation, sentiment="positive", language="nl")
    assert counted(sentiment_cells(filters), filters) != live_sentiment(
        filters
    )  # until the refresh (5 minutes)
    assert rollups.rollup_refresh_recent() == 1  # the day it was resolved, 40 days ago
    assert counted(sentiment_cells(filters), filters) == live_sentiment(filters)
    assert "nl" in offered(filters)["language"]
    assert offered(filters) == live_choices(filters)


def test_the_migration_fills_the_sentiment_rollup_and_the_filter_choices(classified):
    rows = {
        SentimentRollup: ("day", "intent", "sentiment", "conversations"),
        DailyChoice: ("dimension", "day", "value"),
    }
    made = {model: set(model.objects.values_list(*fields)) for model, fields in rows.items()}
    for model in rows:
        model.objects.all().delete()
    importlib.import_module(MIGRATION).sentiment_and_choices_fill(apps, None)
    assert {model: set(model.objects.values_list(*fields)) for model, fields in rows.items()} == made
    assert {dimension for dimension, _, _ in made[DailyChoice]} == set(DailyChoice.Dimension.values)
