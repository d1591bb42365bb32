"""Daily totals of analyses and triage reviews, computed the same way for the rollup tables and live reads."""

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.db import models, transaction
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from classification.models import Classification, TriageReview

from .metrics import EFFORT_BANDS
from .models import AgreementRollup, ConversationAnalysis, DailyChoice, DailyRollup, SentimentRollup

GROUPS = {
    DailyRollup.Grain.INTENT: ("intent",),
    DailyRollup.Grain.SEGMENT: ("intent", "channel", "team"),
    DailyRollup.Grain.AGENT: ("team", "agent"),
}
# The schedule runs every 5 minutes; looking back further covers a late or skipped run.
RECENT_LOOKBACK = timedelta(minutes=20)
REFRESH_CHUNK_DAYS = 31
# Reviews of today and yesterday are counted live: a review shows at once, and a day is read from
# the rollup only once every review of it has long been committed and refreshed.
AGREEMENT_LIVE_DAYS = 2


def _sum(field: str, output: models.Field | None = None):
    output = output or models.BigIntegerField()
    return Coalesce(Sum(field), Value(0), output_field=output)


def _band_case() -> Case:
    whens, lower = [], None
    for key, _, upper in EFFORT_BANDS:
        condition = Q(effort_score__gte=lower) if lower is not None else Q()
        if upper != float("inf"):
            condition &= Q(effort_score__lt=upper)
        whens.append(When(condition, then=Value(key)))
        lower = upper
    return Case(*whens, default=Value(""), output_field=models.CharField())


def analyses_counted() -> QuerySet[ConversationAnalysis]:
    """What dashboards count: each conversation's latest resolution, once computed."""
    return ConversationAnalysis.objects.filter(current=True, status=ConversationAnalysis.Status.DONE)


def cells_compute(
    analyses: QuerySet[ConversationAnalysis],
    group: Iterable[str],
    *,
    by_day: bool = True,
    breakdowns: bool = True,
) -> list[dict]:
    """Totals per resolution day (unless `by_day` is off) and `group` fields, shaped like DailyRollup rows.

    Without `breakdowns` the root-cause, method and effort-band maps are left empty (three fewer queries).
    """
    keys = ["day", *group] if by_day else list(group)
    base = analyses.annotate(day=TruncDate("resolved_at")).order_by()
    rows = base.values(*keys).annotate(
        conversations=Count("pk"),
        auto_routed=Count("pk", filter=Q(route="auto")),
        triaged=Count("pk", filter=Q(route="triage")),
        auto_replied=Count("pk", filter=Q(auto_reply_involved=True)),
        first_response_sum=_sum("first_response_seconds"),
        first_response_count=Count("first_response_seconds"),
        resolution_sum=_sum("resolution_seconds"),
        resolution_count=Count("resolution_seconds"),
        effort_sum=_sum("effort_score", models.DecimalField(max_digits=14, decimal_places=1)),
        effort_count=Count("effort_score"),
        tone_sum=_sum("tone_score"),
        tone_count=Count("tone_score"),
        accuracy_sum=_sum("accuracy_score"),
        accuracy_count=Count("accuracy_score"),
    )
    cells = {
        tuple(row[k] for k in keys): {**row, "root_causes": {}, "resolution_methods": {}, "effort_bands": {}}
        for row in rows
    }
    if not breakdowns:
        return list(cells.values())
    maps = (
        ("root_causes", base.exclude(root_cause=None), "root_cause__key"),
        ("resolution_methods", base.exclude(resolution_method=None), "resolution_method__key"),
        ("effort_bands", base.exclude(effort_score=None).annotate(band=_band_case()), "band"),
    )
    for target, queryset, field in maps:
        for row in queryset.values(*keys, field).annotate(n=Count("pk")):
            cell = cells.get(tuple(row[k] for k in keys))
            if cell is not None:
                cell[target][row[field]] = row["n"]
    return list(cells.values())


def found_compute(
    analyses: QuerySet[ConversationAnalysis], found: str, group: Iterable[str] = ()
) -> list[dict]:
    """Analyses per resolution day, `group` fields and what the conversation's current classification
    found (`found`: sentiment or language; "" when not known or never classified)."""
    current = Classification.objects.filter(conversation=OuterRef("conversation"), current=True)
    value = Coalesce(Subquery(current.values(found)[:1]), Value(""))
    rows = analyses.annotate(day=TruncDate("resolved_at"), **{found: value}).values("day", *group, found)
    return list(rows.annotate(conversations=Count("pk")).order_by())


def agreement_compute(reviews: QuerySet[TriageReview], *, by_day: bool = True) -> list[dict]:
    """Reviews and agreements per review day (unless `by_day` is off) and AI intent (`ai_intent`: its id)."""
    keys = {"ai_intent": F("classification__intent")}
    if by_day:
        keys["day"] = TruncDate("created_at")
    return list(
        reviews.order_by()
        .values(**keys)
        .annotate(reviewed=Count("pk"), agreed=Count("pk", filter=Q(agreed=True)))
    )


def agreement_live_since() -> datetime:
    """Reviews made from then on are counted live, not from the rollup."""
    first = timezone.now().date() - timedelta(days=AGREEMENT_LIVE_DAYS - 1)
    return datetime.combine(first, time.min, tzinfo=UTC)


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _chunks(days: Iterable[date]) -> Iterator[list[date]]:
    days = sorted(set(days))
    for start in range(0, len(days), REFRESH_CHUNK_DAYS):
        yield days[start : start + REFRESH_CHUNK_DAYS]


def rollup_refresh(*, days: Iterable[date]) -> int:
    """Rebuild the DailyRollup, SentimentRollup and DailyChoice rows of these days; returns how many days."""
    count = 0
    for chunk in _chunks(days):
        low, high = _day_bounds(chunk[0], chunk[-1])
        wanted = set(chunk)
        analyses = analyses_counted().filter(resolved_at__gte=low, resolved_at__lt=high)
        rows = []
        for grain, group in GROUPS.items():
            for cell in cells_compute(analyses, group):
                if cell["day"] in wanted:
                    rows.append(DailyRollup(grain=grain, **cell))
        sentiments = [
            SentimentRollup(**cell)
            for cell in found_compute(analyses, "sentiment", ["intent"])
            if cell["day"] in wanted
        ]
        resolved = ConversationAnalysis.objects.filter(
            current=True, resolved_at__gte=low, resolved_at__lt=high
        )
        choices = _choices(rows, resolved, wanted)
        with transaction.atomic():
            for model, made in ((DailyRollup, rows), (SentimentRollup, sentiments), (DailyChoice, choices)):
                model.objects.filter(day__in=chunk).delete()
                model.objects.bulk_create(made, batch_size=2000)
        count += len(chunk)
    return count


# Each filter's values from the smallest grain that has them.
CHOICE_GRAINS = {
    DailyChoice.Dimension.INTENT: DailyRollup.Grain.INTENT,
    DailyChoice.Dimension.CHANNEL: DailyRollup.Grain.SEGMENT,
    DailyChoice.Dimension.TEAM: DailyRollup.Grain.AGENT,
    DailyChoice.Dimension.AGENT: DailyRollup.Grain.AGENT,
}


def _choices(
    rows: list[DailyRollup], resolved: QuerySet[ConversationAnalysis], wanted: set[date]
) -> list[DailyChoice]:
    """The filters' values of these days: from the rollup rows just made, and the customer languages
    of the `resolved` current analyses, computed or not yet."""
    values = {
        (dimension, row.day, getattr(row, dimension))
        for row in rows
        for dimension, grain in CHOICE_GRAINS.items()
        if row.grain == grain and getattr(row, dimension)
    }
    for cell in found_compute(resolved, "language"):
        if cell["language"] and cell["day"] in wanted:
            values.add((DailyChoice.Dimension.LANGUAGE, cell["day"], cell["language"]))
    return [DailyChoice(dimension=dimension, day=day, value=value) for dimension, day, value in values]


def agreement_refresh(*, days: Iterable[date]) -> int:
    """Rebuild the agreement rollup rows of these days from the triage reviews; returns how many days."""
    count = 0
    for chunk in _chunks(days):
        low, high = _day_bounds(chunk[0], chunk[-1])
        wanted = set(chunk)
        reviews = TriageReview.objects.filter(created_at__gte=low, created_at__lt=high)
        rows = [
            AgreementRollup(
                day=cell["day"], intent_id=cell["ai_intent"], reviewed=cell["reviewed"], agreed=cell["agreed"]
            )
            for cell in agreement_compute(reviews)
            if cell["day"] in wanted
        ]
        with transaction.atomic():
            AgreementRollup.objects.filter(day__in=chunk).delete()
            AgreementRollup.objects.bulk_create(rows, batch_size=2000)
        count += len(chunk)
    return count


def _days_of(queryset: QuerySet, field: str) -> set[date]:
    return set(queryset.annotate(day=TruncDate(field)).order_by().values_list("day", flat=True).distinct())


def rollup_refresh_recent(*, lookback: timedelta = RECENT_LOOKBACK) -> int:
    """Rebuild the days of analyses that changed, of conversations classified and of reviews made lately
    (the schedule); returns how many days."""
    since = timezone.now() - lookback
    changed = _days_of(ConversationAnalysis.objects.filter(updated_at__gte=since), "resolved_at")
    # A conversation classified again, or given its new classification's answer, may have another
    # sentiment and language now: the days of its analyses are counted again.
    classified = Classification.objects.filter(Q(created_at__gte=since) | Q(classified_at__gte=since))
    changed |= _days_of(
        ConversationAnalysis.objects.filter(conversation__in=classified.values("conversation")), "resolved_at"
    )
    # Reviews are never edited (read-only in the admin), so their creation is their last change.
    reviewed = _days_of(TriageReview.objects.filter(created_at__gte=since), "created_at")
    rollup_refresh(days=changed)
    agreement_refresh(days=reviewed)
    return len(changed | reviewed)


def _every_day(first: datetime | None, last: datetime | None) -> list[date]:
    if first is None or last is None:
        return []
    return [first.date() + timedelta(days=n) for n in range((last.date() - first.date()).days + 1)]


def rollup_refresh_all() -> int:
    """Rebuild every day that has analyses or reviews (after a backfill or synthetic data)."""
    analysed = ConversationAnalysis.objects.aggregate(
        first=models.Min("resolved_at"), last=models.Max("resolved_at")
    )
    reviewed = TriageReview.objects.aggregate(first=models.Min("created_at"), last=models.Max("created_at"))
    days, review_days = _every_day(**analysed), _every_day(**reviewed)
    # Nothing left to count: no row from before stays.
    if not days:
        for model in (DailyRollup, SentimentRollup, DailyChoice):
            model.objects.all().delete()
    if not review_days:
        AgreementRollup.objects.all().delete()
    rollup_refresh(days=days)
    agreement_refresh(days=review_days)
    return len(set(days) | set(review_days))
