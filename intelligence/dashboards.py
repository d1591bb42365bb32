"""Reads of the dashboards: filters, the panels of each page, and the conversations behind a figure."""

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from classification.models import Classification, Intent, TriageReview

from . import autoreplies
from .metrics import EFFORT_BANDS
from .models import ConversationAnalysis, DailyRollup, ResolutionMethod, RootCause
from .rollups import analyses_counted, cells_compute

DEFAULT_DAYS = 30
MAX_DAILY_POINTS = 62  # longer ranges are shown per week
DRILL_LIMIT = 200
FILTER_DIMENSIONS = ("intent", "channel", "team", "agent")
CELL_FIELDS = [f.name for f in DailyRollup._meta.fields if f.name not in ("id", "grain")]
ROUTE_LABELS = {"auto": "auto-routed", "triage": "sent to triage"}
BACKLOG_BANDS = [
    ("lt1h", "Under 1 hour", None, timedelta(hours=1)),
    ("1-4h", "1 to 4 hours", timedelta(hours=1), timedelta(hours=4)),
    ("4-24h", "4 to 24 hours", timedelta(hours=4), timedelta(hours=24)),
    ("1-3d", "1 to 3 days", timedelta(days=1), timedelta(days=3)),
    ("gt3d", "Over 3 days", timedelta(days=3), None),
]


@dataclass(frozen=True)
class Filters:
    """What the ops leader narrowed the dashboards to; start and end days are inclusive."""

    start: date
    end: date
    intent: str = ""
    channel: str = ""
    team: str = ""
    agent: str = ""

    def as_query(self, **extra: str) -> dict[str, str]:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        query.update({name: getattr(self, name) for name in FILTER_DIMENSIONS if getattr(self, name)})
        query.update({k: v for k, v in extra.items() if v != ""})
        return query

    def url_query(self, **extra: str) -> str:
        return urlencode(self.as_query(**extra))

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time.min, tzinfo=UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC),
        )

    @property
    def dimensions(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTER_DIMENSIONS if getattr(self, name)}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(params: Mapping[str, str]) -> Filters:
    """Filters from a query string; bad or missing dates fall back to the last 30 days."""
    today = timezone.now().date()
    end = _day(params.get("end")) or today
    start = _day(params.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    # "-" (none) only means something in a drill-down link; on the dashboards it is no filter.
    values = {name: _blank(str(params.get(name, "")).strip()[:64]) for name in FILTER_DIMENSIONS}
    return Filters(start=start, end=end, **values)


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


def _drill(filters: Filters, **extra: str) -> str:
    return "?" + filters.url_query(**extra)


# --- labels -------------------------------------------------------------------------------------


def _intent_names() -> dict[str, str]:
    return dict(Intent.objects.filter(parent__isnull=True).values_list("key", "name"))


def _names(model) -> dict[str, str]:
    return dict(model.objects.values_list("key", "name"))


def _label(names: dict[str, str], key: str, blank: str = "Not classified") -> str:
    return names.get(key, key) if key else blank


# --- where the numbers come from ------------------------------------------------------------------


def _analyses(filters: Filters) -> QuerySet[ConversationAnalysis]:
    low, high = filters.bounds
    return analyses_counted().filter(resolved_at__gte=low, resolved_at__lt=high, **filters.dimensions)


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
    """Totals per day and intent: from the rollup, or live when an agent is chosen.

    Counters are summed by the database; the breakdown maps (causes, methods, effort bands) come
    per rollup row and are summed by the caller.
    """
    if filters.agent:
        return cells_compute(_analyses(filters), ("intent",), breakdowns=breakdowns)
    # The intent grain has a tenth of the segment rows: enough unless a channel or team is chosen.
    grain = DailyRollup.Grain.SEGMENT if filters.channel or filters.team else DailyRollup.Grain.INTENT
    rows = _rollup(filters, grain, filters.dimensions)
    if breakdowns:
        return list(rows.values("day", "intent", *BREAKDOWN_FIELDS))
    return list(rows.values("day", "intent").annotate(**{name: Sum(name) for name in COUNTERS}).order_by())


def agent_cells(filters: Filters) -> list[dict]:
    """Totals per team and agent: from the rollup, or live when an intent or channel is chosen."""
    if filters.intent or filters.channel:
        return cells_compute(_analyses(filters), ("team", "agent"), by_day=False, breakdowns=False)
    dims = {k: v for k, v in filters.dimensions.items() if k in ("team", "agent")}
    rows = _rollup(filters, DailyRollup.Grain.AGENT, dims)
    return list(rows.values("team", "agent").annotate(**{name: Sum(name) for name in COUNTERS}).order_by())


def _periods(filters: Filters) -> tuple[list[date], Callable[[date], date], timedelta]:
    """The chart's x axis: days, or weeks (from Monday) for long ranges."""
    if (filters.end - filters.start).days < MAX_DAILY_POINTS:
        days = [filters.start + timedelta(days=n) for n in range((filters.end - filters.start).days + 1)]
        return days, (lambda d: d), timedelta(days=1)
    first = filters.start - timedelta(days=filters.start.weekday())
    weeks = [first + timedelta(weeks=n) for n in range((filters.end - first).days // 7 + 1)]
    return weeks, (lambda d: d - timedelta(days=d.weekday())), timedelta(weeks=1)


def _over_time(
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
    series = sorted(totals, key=lambda k: -totals[k])
    panel.columns = ["Period", *(_label(names, k) for k in series), "Total"]
    panel.chart_columns = list(range(1, len(series) + 1))
    for period in periods:
        start, end = max(period, filters.start), min(period + step - timedelta(days=1), filters.end)
        span = replace(filters, start=start, end=end)
        row = counts.get(period, {})
        values = [row.get(k, 0) for k in series]
        panel.add(
            [period.isoformat(), *values, sum(values)],
            [None, *(_drill(span, **{param: k or "-"}) for k in series), _drill(span)],
        )


# --- pages ----------------------------------------------------------------------------------------


def overview_panels(filters: Filters) -> list[Panel]:
    cells = segment_cells(filters)
    intents = _intent_names()
    volume = Panel("volume", "Volume by intent over time", [], chart="stacked")
    _over_time(volume, filters, cells, lambda c: {c["intent"]: c["conversations"]}, "intent", intents)

    routing = Panel(
        "routing",
        "Auto-routed and triage share",
        ["Intent", "Auto-routed", "Triage", "Auto-routed share"],
        chart="stacked",
        chart_columns=[1, 2],
        note="Resolved conversations by how classification routed them.",
    )
    by_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cell in cells:
        by_intent[cell["intent"]][0] += cell["auto_routed"]
        by_intent[cell["intent"]][1] += cell["triaged"]
    for key, (auto, triage) in sorted(by_intent.items(), key=lambda item: -sum(item[1])):
        if auto + triage:
            routing.add(
                [_label(intents, key), auto, triage, f"{auto / (auto + triage):.0%}"],
                [
                    None,
                    _drill(filters, intent=key or "-", route="auto"),
                    _drill(filters, intent=key or "-", route="triage"),
                    None,
                ],
            )
    return [volume, routing, backlog_panel(filters), autoreply_panel(filters), agreement_panel(filters)]


def backlog_panel(filters: Filters) -> Panel:
    panel = Panel(
        "backlog",
        "Triage backlog by age",
        ["Waiting for", "Conversations"],
        chart="bar",
        chart_columns=[1],
        note="Waiting for a reviewer now (the date range does not apply; the intent filter does).",
        empty="Nothing is waiting for a reviewer.",
    )
    now = timezone.now()
    waiting = Classification.objects.filter(
        route=Classification.Route.TRIAGE,
        status=Classification.Status.DONE,
        current=True,
        review__isnull=True,
    )
    if filters.intent:
        waiting = waiting.filter(intent__key=filters.intent)
    counts = waiting.aggregate(
        **{
            key: Count(
                "pk",
                filter=(Q(classified_at__lte=now - low) if low else Q())
                & (Q(classified_at__gt=now - high) if high else Q()),
            )
            for key, _, low, high in BACKLOG_BANDS
        }
    )
    if any(counts.values()):
        for key, label, _, _ in BACKLOG_BANDS:
            panel.add([label, counts[key]], [None, _drill(filters, list="backlog", age=key)])
    return panel


def agreement_panel(filters: Filters) -> Panel:
    panel = Panel(
        "agreement",
        "AI and reviewer agreement",
        ["AI intent", "Reviewed", "Reviewer agreed", "Agreement"],
        chart="bar",
        chart_columns=[1, 2],
        note="Triage reviews made in the date range: did the reviewer keep the AI's intent and sub-intent?",
        empty="No triage reviews in this range.",
    )
    low, high = filters.bounds
    reviews = TriageReview.objects.filter(created_at__gte=low, created_at__lt=high)
    if filters.intent:
        reviews = reviews.filter(classification__intent__key=filters.intent)
    rows = (
        reviews.values("classification__intent__key", "classification__intent__name")
        .annotate(total=Count("pk"), agreed=Count("pk", filter=Q(agreed=True)))
        .order_by("-total")
    )
    for row in rows:
        key = row["classification__intent__key"] or ""
        panel.add(
            [
                row["classification__intent__name"] or "No intent",
                row["total"],
                row["agreed"],
                f"{row['agreed'] / row['total']:.0%}",
            ],
            [
                None,
                _drill(filters, list="reviews", ai_intent=key or "-"),
                _drill(filters, list="reviews", ai_intent=key or "-", agreed="1"),
                None,
            ],
        )
    return panel


def autoreply_panel(filters: Filters) -> Panel:
    panel = Panel(
        "autoreply",
        "Auto-reply outcomes by mode and shadow approval",
        ["Mode", "Outcome", "Shadow approval", "Decisions"],
        chart="bar",
        chart_columns=[3],
        empty="No auto-reply decisions in this period.",
    )
    for row in autoreplies.outcome_counts(*filters.bounds):
        panel.add(
            [row["mode"], row["verdict"], row["grade"], row["n"]],
            [
                None,
                None,
                None,
                _drill(
                    filters,
                    list="autoreply",
                    ar_mode=row["mode"],
                    ar_verdict=row["verdict"],
                    ar_grade=row["grade"],
                ),
            ],
        )
    return panel


def causes_panels(filters: Filters) -> list[Panel]:
    cells = segment_cells(filters, breakdowns=True)
    causes = Panel(
        "root_causes",
        "Root causes over time",
        [],
        chart="stacked",
        note="From Claude's reading of each resolved conversation; flagged answers are left out.",
    )
    _over_time(causes, filters, cells, lambda c: c["root_causes"], "root_cause", _names(RootCause))

    methods = Panel(
        "resolution_methods",
        "Resolution methods",
        ["Resolution method", "Conversations", "Share"],
        chart="bar",
        chart_columns=[1],
    )
    totals: dict[str, int] = defaultdict(int)
    for cell in cells:
        for key, n in cell["resolution_methods"].items():
            totals[key] += n
    total = sum(totals.values())
    names = _names(ResolutionMethod)
    for key, n in sorted(totals.items(), key=lambda item: -item[1]):
        methods.add([_label(names, key), n, f"{n / total:.0%}"], [None, _drill(filters, method=key), None])

    effort = Panel(
        "effort",
        "Customer effort by intent",
        ["Intent", *(label for _, label, _ in EFFORT_BANDS), "Average effort"],
        chart="stacked",
        chart_columns=list(range(1, len(EFFORT_BANDS) + 1)),
        note="Effort score, 1 (effortless) to 5: 1 + 0.5 per customer message after the first (up to 4) "
        "+ 0.75 per transfer (up to 2) + 1 per reopen (up to 2) + 1 per 12 hours the customer waited "
        "(up to 24 hours), at most 5.",
    )
    intents = _intent_names()
    bands: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sums: dict[str, list] = defaultdict(lambda: [0, 0])
    for cell in cells:
        for band, n in cell["effort_bands"].items():
            bands[cell["intent"]][band] += n
        sums[cell["intent"]][0] += float(cell["effort_sum"])
        sums[cell["intent"]][1] += cell["effort_count"]
    for key in sorted(bands, key=lambda k: -sum(bands[k].values())):
        effort_sum, effort_count = sums[key]
        effort.add(
            [
                _label(intents, key),
                *(bands[key].get(band, 0) for band, _, _ in EFFORT_BANDS),
                round(effort_sum / effort_count, 1) if effort_count else None,
            ],
            [
                None,
                *(_drill(filters, intent=key or "-", band=band) for band, _, _ in EFFORT_BANDS),
                _drill(filters, intent=key or "-"),
            ],
        )
    return [causes, methods, effort]


def _average(total, count, scale: float = 1.0, digits: int = 1):
    return round(float(total) / count / scale, digits) if count else None


def agents_panels(filters: Filters) -> list[Panel]:
    panel = Panel(
        "agents",
        "Agents",
        [
            "Agent",
            "Team",
            "Conversations",
            "First response (min)",
            "Time to resolution (h)",
            "Tone (1 to 5)",
            "Accuracy (1 to 5)",
            "Customer effort",
        ],
        note="The agent assigned when the conversation was resolved. Tone and accuracy come from Claude.",
    )
    totals: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for cell in agent_cells(filters):
        row = totals[(cell["agent"], cell["team"])]
        for name in (
            "conversations",
            "first_response_sum",
            "first_response_count",
            "resolution_sum",
            "resolution_count",
            "tone_sum",
            "tone_count",
            "accuracy_sum",
            "accuracy_count",
            "effort_sum",
            "effort_count",
        ):
            row[name] += float(cell[name])
    for (agent, team), row in sorted(totals.items(), key=lambda item: -item[1]["conversations"]):
        panel.add(
            [
                agent or "Unassigned",
                team or "No team",
                int(row["conversations"]),
                _average(row["first_response_sum"], row["first_response_count"], 60),
                _average(row["resolution_sum"], row["resolution_count"], 3600),
                _average(row["tone_sum"], row["tone_count"]),
                _average(row["accuracy_sum"], row["accuracy_count"]),
                _average(row["effort_sum"], row["effort_count"]),
            ],
            [None, None, _drill(filters, agent=agent or "-", team=team or "-"), None, None, None, None, None],
        )
    return [panel]


PAGES: dict[str, tuple[str, Callable[[Filters], list[Panel]]]] = {
    "overview": ("Overview", overview_panels),
    "causes": ("Causes and effort", causes_panels),
    "agents": ("Agents", agents_panels),
}


def filter_choices(filters: Filters) -> dict[str, list[tuple[str, str]]]:
    """Values seen in the date range for each filter, with readable labels where we have them."""
    # Each dimension from the smallest grain that has it.
    grains = {
        "intent": DailyRollup.Grain.INTENT,
        "channel": DailyRollup.Grain.SEGMENT,
        "team": DailyRollup.Grain.AGENT,
        "agent": DailyRollup.Grain.AGENT,
    }
    intents = _intent_names()
    choices = {}
    for name in FILTER_DIMENSIONS:
        rows = DailyRollup.objects.filter(grain=grains[name], day__gte=filters.start, day__lte=filters.end)
        values = set(rows.exclude(**{name: ""}).values_list(name, flat=True).distinct())
        if getattr(filters, name):
            values.add(getattr(filters, name))
        labels = intents if name == "intent" else {}
        choices[name] = sorted(((v, labels.get(v, v)) for v in values), key=lambda item: item[1].lower())
    return choices


# --- drill-down -------------------------------------------------------------------------------------


@dataclass
class DrillDown:
    title: str
    columns: list[str]
    rows: list[list]
    total: int


def _blank(value: str) -> str:
    """`-` in a drill-down link stands for "none" (an empty intent, team, ...)."""
    return "" if value == "-" else value


def drilldown(params: Mapping[str, str], *, limit: int | None = DRILL_LIMIT) -> DrillDown:
    filters = filters_from(params)
    kind = params.get("list", "")
    if kind == "backlog":
        return _backlog_list(filters, params.get("age", ""), limit)
    if kind == "reviews":
        return _review_list(filters, params, limit)
    if kind == "autoreply":
        return _autoreply_list(filters, params, limit)
    return _analysis_list(params, limit)


def _analysis_list(params: Mapping[str, str], limit: int | None) -> DrillDown:
    filters = filters_from(params)
    low, high = filters.bounds
    analyses = analyses_counted().filter(
        resolved_at__gte=low,
        resolved_at__lt=high,
        **{name: _blank(params[name]) for name in FILTER_DIMENSIONS if params.get(name)},
    )
    described = []
    if params.get("route") in ROUTE_LABELS:
        analyses = analyses.filter(route=params["route"])
        described.append(ROUTE_LABELS[params["route"]])
    if params.get("root_cause"):
        key = _blank(params["root_cause"])
        analyses = analyses.filter(root_cause__key=key)
        described.append(f"root cause {_label(_names(RootCause), key, 'none').lower()}")
    if params.get("method"):
        analyses = analyses.filter(resolution_method__key=params["method"])
        described.append(f"resolved by {_label(_names(ResolutionMethod), params['method']).lower()}")
    keys = [key for key, _, _ in EFFORT_BANDS]
    if params.get("band") in keys:
        index = keys.index(params["band"])
        _, label, upper = EFFORT_BANDS[index]
        if index > 0:
            analyses = analyses.filter(effort_score__gte=EFFORT_BANDS[index - 1][2])
        if index < len(EFFORT_BANDS) - 1:
            analyses = analyses.filter(effort_score__lt=upper)
        described.append(f"effort {label.lower()}")
    rows = analyses.select_related("conversation", "root_cause", "resolution_method").order_by(
        "-resolved_at", "-pk"
    )
    shown = rows[:limit] if limit else rows.iterator(chunk_size=2000)
    intents = _intent_names()
    table = [
        [
            a.resolved_at.strftime("%Y-%m-%d %H:%M"),
            a.conversation.name or a.conversation.kustomer_id,
            a.conversation.kustomer_id,
            _label(intents, a.intent),
            a.channel,
            a.team,
            a.agent,
            _average(a.first_response_seconds or 0, 1 if a.first_response_seconds is not None else 0, 60),
            _average(a.resolution_seconds or 0, 1 if a.resolution_seconds is not None else 0, 3600),
            a.transfers,
            a.reopens,
            a.effort_score,
            a.root_cause.name if a.root_cause else "",
            a.resolution_method.name if a.resolution_method else "",
            a.tone_score,
            a.accuracy_score,
            a.summary
            if a.extraction_status == ConversationAnalysis.Extraction.DONE
            else a.get_extraction_status_display(),
        ]
        for a in shown
    ]
    return DrillDown(
        title="Resolved conversations" + (f": {', '.join(described)}" if described else ""),
        columns=[
            "Resolved",
            "Conversation",
            "Kustomer id",
            "Intent",
            "Channel",
            "Team",
            "Agent",
            "First response (min)",
            "Time to resolution (h)",
            "Transfers",
            "Reopens",
            "Effort",
            "Root cause",
            "Resolution method",
            "Tone",
            "Accuracy",
            "Summary",
        ],
        rows=table,
        total=rows.count() if limit else len(table),
    )


def _backlog_list(filters: Filters, age: str, limit: int | None) -> DrillDown:
    now = timezone.now()
    waiting = Classification.objects.filter(
        route=Classification.Route.TRIAGE,
        status=Classification.Status.DONE,
        current=True,
        review__isnull=True,
    ).select_related("conversation", "intent")
    if filters.intent:
        waiting = waiting.filter(intent__key=filters.intent)
    band = next((b for b in BACKLOG_BANDS if b[0] == age), None)
    if band:
        if band[2]:
            waiting = waiting.filter(classified_at__lte=now - band[2])
        if band[3]:
            waiting = waiting.filter(classified_at__gt=now - band[3])
    waiting = waiting.order_by("classified_at", "pk")
    shown = waiting[:limit] if limit else waiting
    rows = [
        [
            c.classified_at.strftime("%Y-%m-%d %H:%M") if c.classified_at else "",
            c.conversation.name or c.conversation.kustomer_id,
            c.conversation.kustomer_id,
            c.intent.name if c.intent else "",
            c.confidence,
            c.route_reason,
        ]
        for c in shown
    ]
    return DrillDown(
        title="Waiting for a reviewer" + (f": {band[1].lower()}" if band else ""),
        columns=["Classified", "Conversation", "Kustomer id", "AI intent", "Confidence", "Why in triage"],
        rows=rows,
        total=waiting.count() if limit else len(rows),
    )


def _review_list(filters: Filters, params: Mapping[str, str], limit: int | None) -> DrillDown:
    low, high = filters.bounds
    reviews = TriageReview.objects.filter(created_at__gte=low, created_at__lt=high).select_related(
        "classification__conversation", "classification__intent", "intent", "reviewer"
    )
    if params.get("ai_intent"):
        reviews = reviews.filter(classification__intent__key=_blank(params["ai_intent"]) or None)
    if params.get("agreed") in ("0", "1"):
        reviews = reviews.filter(agreed=params["agreed"] == "1")
    reviews = reviews.order_by("-created_at", "-pk")
    shown = reviews[:limit] if limit else reviews
    rows = [
        [
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.classification.conversation.name or r.classification.conversation.kustomer_id,
            r.classification.conversation.kustomer_id,
            r.classification.intent.name if r.classification.intent else "",
            r.intent.name,
            "Agreed" if r.agreed else "Corrected",
            r.reviewer.get_username() if r.reviewer else "",
        ]
        for r in shown
    ]
    return DrillDown(
        title="Triage reviews",
        columns=[
            "Reviewed",
            "Conversation",
            "Kustomer id",
            "AI intent",
            "Reviewer's intent",
            "Verdict",
            "Reviewer",
        ],
        rows=rows,
        total=reviews.count() if limit else len(rows),
    )


def _autoreply_list(filters: Filters, params: Mapping[str, str], limit: int | None) -> DrillDown:
    decisions = autoreplies.decisions_for(
        *filters.bounds,
        mode=params.get("ar_mode", ""),
        verdict=params.get("ar_verdict", ""),
        grade=params.get("ar_grade", ""),
    ).select_related("review")
    shown = decisions[:limit] if limit else decisions
    rows = [
        [
            d.created_at.strftime("%Y-%m-%d %H:%M"),
            d.conversation.name or d.conversation.kustomer_id,
            d.conversation.kustomer_id,
            f"{d.mode} / {d.verdict}{f' ({d.reason})' if d.reason else ''} / "
            + (d.review.grade if hasattr(d, "review") else autoreplies.NOT_GRADED),
        ]
        for d in shown
    ]
    columns = ["Decided", "Conversation", "Kustomer id", "Mode, outcome, shadow approval"]
    return DrillDown(title="Auto-reply decisions", columns=columns, rows=rows, total=decisions.count())
