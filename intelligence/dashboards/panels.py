"""A dashboard panel, the labels it shows, and where its numbers come from (rollups, or live)."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.db.models import F, QuerySet, Sum
from django.db.models.functions import TruncWeek

from classification.models import Classification, Intent, TriageReview

from ..models import AgreementRollup, ConversationAnalysis, DailyRollup, SentimentRollup
from ..rollups import agreement_compute, agreement_live_since, analyses_counted, cells_compute, found_compute
from .filters import Filters, drill_link

MAX_DAILY_POINTS = 62  # longer ranges are shown per week
CELL_FIELDS = [f.name for f in DailyRollup._meta.fields if f.name not in ("id", "grain")]


@dataclass
class Panel:
    """One table (and its chart): rows of cells, the first cell a label; links drill down per cell."""

    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    links: list[list[str | None]] = field(default_factory=list)
    chart: str = ""
    chart_columns: list[int] = field(default_factory=list)
    note: str = ""
    empty: str = "No conversations match these filters."

    def add(self, cells: list, links: list[str | None] | None = None) -> None:
        self.rows.append(cells)
        self.links.append(links or [None] * len(cells))

    @property
    def table(self) -> list[list[tuple]]:
        return [list(zip(row, links, strict=True)) for row, links in zip(self.rows, self.links, strict=True)]

    def chart_data(self) -> dict:
        return {
            "type": self.chart,
            "labels": [str(row[0]) for row in self.rows],
            "datasets": [
                {"label": self.columns[i], "data": [row[i] or 0 for row in self.rows]}
                for i in self.chart_columns
            ],
            "links": [[links[i] for links in self.links] for i in self.chart_columns],
        }


def average(total, count, scale: float = 1.0, digits: int = 1):
    return round(float(total) / count / scale, digits) if count else None


def intent_names() -> dict[str, str]:
    return dict(Intent.objects.filter(parent__isnull=True).values_list("key", "name"))


def key_names(model) -> dict[str, str]:
    return dict(model.objects.values_list("key", "name"))


def key_label(names: dict[str, str], key: str, blank: str = "Not classified") -> str:
    return names.get(key, key) if key else blank


def analyses_in(filters: Filters) -> QuerySet[ConversationAnalysis]:
    low, high = filters.bounds
    analyses = analyses_counted().filter(resolved_at__gte=low, resolved_at__lt=high, **filters.dimensions)
    return in_language(analyses, filters.language)


def in_language(analyses: QuerySet[ConversationAnalysis], language: str) -> QuerySet[ConversationAnalysis]:
    """The analyses of conversations whose current classification found the customer writing `language`."""
    return analyses.filter(conversation_id__in=classified(language=language)) if language else analyses


def classified(**found: str | list[str]) -> QuerySet:
    """The ids of conversations whose current classification found this (language, sentiment)."""
    return Classification.objects.filter(current=True, **found).values("conversation_id")


def sentiment_cells(filters: Filters) -> list[dict]:
    """Resolved conversations per day, intent and customer sentiment (the current classification's): from
    the rollup, or live when a channel, team, agent or language is chosen (not dimensions of it)."""
    if filters.channel or filters.team or filters.agent or filters.language:
        return found_compute(analyses_in(filters), "sentiment", ["intent"])
    rows = SentimentRollup.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.intent:
        rows = rows.filter(intent=filters.intent)
    return _per_period(rows, filters, "intent", "sentiment", conversations=Sum("conversations"))


def _weekly(filters: Filters) -> bool:
    return (filters.end - filters.start).days >= MAX_DAILY_POINTS


def _per_period(rows: QuerySet, filters: Filters, *keys: str, **sums) -> list[dict]:
    """Rollup rows summed per chart period (`day`: the day, or the Monday of its week for long ranges)
    and `keys`: a year is 53 rows per key to add up instead of 365."""
    period = TruncWeek("day") if _weekly(filters) else F("day")
    cells = list(rows.values(*keys, period=period).annotate(**sums).order_by())
    for cell in cells:
        cell["day"] = cell.pop("period")
    return cells


KEYS_AND_MAPS = {"day", "intent", "channel", "team", "agent"} | {
    "root_causes",
    "resolution_methods",
    "effort_bands",
}
COUNTERS = [name for name in CELL_FIELDS if name not in KEYS_AND_MAPS]
BREAKDOWN_FIELDS = ["root_causes", "resolution_methods", "effort_bands", "effort_sum", "effort_count"]


def _rollup(filters: Filters, grain: str, dimensions: dict[str, str]) -> QuerySet[DailyRollup]:
    return DailyRollup.objects.filter(grain=grain, day__gte=filters.start, day__lte=filters.end, **dimensions)


def segment_cells(filters: Filters, *, breakdowns: bool = False) -> list[dict]:
    """Totals per day (per week in long ranges) and intent: from the rollup, or live (per day) when an
    agent or language is chosen.

    Counters are summed by the database; the breakdown maps (causes, methods, effort bands) come
    per rollup row and day, and are summed by the caller.
    """
    if filters.agent or filters.language:
        return cells_compute(analyses_in(filters), ("intent",), breakdowns=breakdowns)
    # The intent grain has a tenth of the segment rows: enough unless a channel or team is chosen.
    grain = DailyRollup.Grain.SEGMENT if filters.channel or filters.team else DailyRollup.Grain.INTENT
    rows = _rollup(filters, grain, filters.dimensions)
    if breakdowns:
        return list(rows.values("day", "intent", *BREAKDOWN_FIELDS))
    return _per_period(rows, filters, "intent", **{name: Sum(name) for name in COUNTERS})


def agent_cells(filters: Filters) -> list[dict]:
    """Totals per team and agent: from the rollup, or live when an intent or channel is chosen."""
    if filters.intent or filters.channel or filters.language:
        return cells_compute(analyses_in(filters), ("team", "agent"), by_day=False, breakdowns=False)
    dims = {k: v for k, v in filters.dimensions.items() if k in ("team", "agent")}
    rows = _rollup(filters, DailyRollup.Grain.AGENT, dims)
    return list(rows.values("team", "agent").annotate(**{name: Sum(name) for name in COUNTERS}).order_by())


def agreement_cells(filters: Filters) -> list[dict]:
    """Triage reviews made in the range and how many kept the AI's intent, per AI intent (`ai_intent`: id).

    Days before the live window (today and yesterday) come from the rollup; the live window, and a
    range narrowed to a language (not a rollup dimension), are counted from the reviews.
    """
    low, high = filters.bounds
    split = low if filters.language else min(max(low, agreement_live_since()), high)
    cells: list[dict] = []
    if split > low:
        rollup = AgreementRollup.objects.filter(day__gte=filters.start, day__lt=split.date())
        if filters.intent:
            rollup = rollup.filter(intent__key=filters.intent)
        rows = rollup.values(ai_intent=F("intent")).annotate(reviewed=Sum("reviewed"), agreed=Sum("agreed"))
        cells += rows.order_by()
    if high > split:
        reviews = TriageReview.objects.filter(created_at__gte=split, created_at__lt=high)
        if filters.intent:
            reviews = reviews.filter(classification__intent__key=filters.intent)
        if filters.language:
            reviews = reviews.filter(classification__language=filters.language)
        cells += agreement_compute(reviews, by_day=False)
    return cells


def _periods(filters: Filters) -> tuple[list[date], Callable[[date], date], timedelta]:
    """The chart's x axis: days, or weeks (from Monday) for long ranges."""
    if not _weekly(filters):
        days = [filters.start + timedelta(days=n) for n in range((filters.end - filters.start).days + 1)]
        return days, (lambda d: d), timedelta(days=1)
    first = filters.start - timedelta(days=filters.start.weekday())
    weeks = [first + timedelta(weeks=n) for n in range((filters.end - first).days // 7 + 1)]
    return weeks, (lambda d: d - timedelta(days=d.weekday())), timedelta(weeks=1)


def over_time(
    panel: Panel,
    filters: Filters,
    cells: list[dict],
    key_of: Callable[[dict], dict[str, int]],
    param: str,
    names,
) -> None:
    periods, bucket, step = _periods(filters)
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for cell in cells:
        for key, n in key_of(cell).items():
            counts[bucket(cell["day"])][key] += n
            totals[key] += n
    if not any(totals.values()):
        return  # nothing in the range: the panel says why instead of a table of zeros
    series = sorted(totals, key=lambda k: -totals[k])
    panel.columns = ["Period", *(key_label(names, k) for k in series), "Total"]
    panel.chart_columns = list(range(1, len(series) + 1))
    for period in periods:
        start, end = max(period, filters.start), min(period + step - timedelta(days=1), filters.end)
        span = replace(filters, start=start, end=end)
        row = counts.get(period, {})
        values = [row.get(k, 0) for k in series]
        panel.add(
            [period.isoformat(), *values, sum(values)],
            [None, *(drill_link(span, **{param: k or "-"}) for k in series), drill_link(span)],
        )
