"""Daily totals of analyses: computed the same way for the rollup table and for live filtered reads."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import models, transaction
from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .metrics import EFFORT_BANDS
from .models import ConversationAnalysis, DailyRollup

GROUPS = {
    DailyRollup.Grain.INTENT: ("intent",),
    DailyRollup.Grain.SEGMENT: ("intent", "channel", "team"),
    DailyRollup.Grain.AGENT: ("team", "agent"),
}
# The schedule runs every 5 minutes; looking back further covers a late or skipped run.
RECENT_LOOKBACK = timedelta(minutes=20)
REFRESH_CHUNK_DAYS = 31


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


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


def rollup_refresh(*, days: Iterable[date]) -> int:
    """Rebuild the rollup rows of these days from the analyses; returns how many days."""
    days = sorted(set(days))
    for start in range(0, len(days), REFRESH_CHUNK_DAYS):
        chunk = days[start : start + REFRESH_CHUNK_DAYS]
        low, high = _day_bounds(chunk[0], chunk[-1])
        wanted = set(chunk)
        analyses = analyses_counted().filter(resolved_at__gte=low, resolved_at__lt=high)
        rows = []
        for grain, group in GROUPS.items():
            for cell in cells_compute(analyses, group):
                if cell["day"] in wanted:
                    rows.append(DailyRollup(grain=grain, **cell))
        with transaction.atomic():
            DailyRollup.objects.filter(day__in=chunk).delete()
            DailyRollup.objects.bulk_create(rows, batch_size=2000)
    return len(days)


def rollup_refresh_recent(*, lookback: timedelta = RECENT_LOOKBACK) -> int:
    """Rebuild the days of analyses that changed lately (the schedule)."""
    since = timezone.now() - lookback
    days = (
        ConversationAnalysis.objects.filter(updated_at__gte=since)
        .annotate(day=TruncDate("resolved_at"))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    return rollup_refresh(days=list(days))


def rollup_refresh_all() -> int:
    """Rebuild every day that has analyses (after a backfill or synthetic data)."""
    bounds = ConversationAnalysis.objects.aggregate(
        first=models.Min("resolved_at"), last=models.Max("resolved_at")
    )
    if bounds["first"] is None:
        DailyRollup.objects.all().delete()
        return 0
    first, last = bounds["first"].date(), bounds["last"].date()
    return rollup_refresh(days=[first + timedelta(days=n) for n in range((last - first).days + 1)])
