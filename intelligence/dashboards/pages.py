"""The panels of each dashboard page (overview, causes and effort, agents) and the filter choices."""

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from classification.languages import language_choices
from classification.models import Intent, Sentiment
from classification.selectors import triage_unreviewed
from kustomer.selectors import people_names

from .. import autoreplies
from ..metrics import EFFORT_BANDS
from ..models import DailyChoice, ResolutionMethod, RootCause
from .filters import FILTER_DIMENSIONS, Filters, drill_link
from .panels import (
    Panel,
    agent_cells,
    agreement_cells,
    average,
    intent_names,
    key_label,
    key_names,
    over_time,
    segment_cells,
    sentiment_cells,
)

BACKLOG_BANDS = [
    ("lt1h", "Under 1 hour", None, timedelta(hours=1)),
    ("1-4h", "1 to 4 hours", timedelta(hours=1), timedelta(hours=4)),
    ("4-24h", "4 to 24 hours", timedelta(hours=4), timedelta(hours=24)),
    ("1-3d", "1 to 3 days", timedelta(days=1), timedelta(days=3)),
    ("gt3d", "Over 3 days", timedelta(days=3), None),
]


def overview_panels(filters: Filters) -> list[Panel]:
    cells = segment_cells(filters)
    intents = intent_names()
    volume = Panel("volume", "Volume by intent over time", [], chart="stacked")
    over_time(volume, filters, cells, lambda c: {c["intent"]: c["conversations"]}, "intent", intents)

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
                [key_label(intents, key), auto, triage, f"{auto / (auto + triage):.0%}"],
                [
                    None,
                    drill_link(filters, intent=key or "-", route="auto"),
                    drill_link(filters, intent=key or "-", route="triage"),
                    None,
                ],
            )
    return [
        volume,
        routing,
        *sentiment_panels(filters),
        backlog_panel(filters),
        autoreply_panel(filters),
        agreement_panel(filters),
    ]


SENTIMENT_NOTE = (
    "The customer's sentiment when the conversation was classified (Claude, or the local method: "
    "docs/language-and-sentiment.md). Choose an intent to see its sentiment over time."
)


def sentiment_panels(filters: Filters) -> list[Panel]:
    cells = sentiment_cells(filters)
    labels = dict(Sentiment.choices)
    over = Panel("sentiment", "Customer sentiment over time", [], chart="stacked", note=SENTIMENT_NOTE)
    over_time(over, filters, cells, lambda c: {c["sentiment"]: c["conversations"]}, "sentiment", labels)

    columns = [label for _, label in Sentiment.choices]
    by_intent = Panel(
        "sentiment_by_intent",
        "Customer sentiment by intent",
        ["Intent", *columns, "Not known", "Negative share"],
        chart="stacked",
        chart_columns=list(range(1, len(columns) + 1)),
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cell in cells:
        counts[cell["intent"]][cell["sentiment"]] += cell["conversations"]
    intents = intent_names()
    for key, row in sorted(counts.items(), key=lambda item: -sum(item[1].values())):
        known = sum(row[value] for value in Sentiment.values)
        negative = row[Sentiment.NEGATIVE]
        by_intent.add(
            [
                key_label(intents, key),
                *(row[value] for value in Sentiment.values),
                row[""],
                f"{negative / known:.0%}" if known else None,
            ],
            [
                None,
                *(drill_link(filters, intent=key or "-", sentiment=value) for value in Sentiment.values),
                drill_link(filters, intent=key or "-", sentiment="-"),
                None,
            ],
        )
    return [over, by_intent]


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
    waiting = triage_unreviewed()
    if filters.intent:
        waiting = waiting.filter(intent__key=filters.intent)
    if filters.language:
        waiting = waiting.filter(language=filters.language)
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
            panel.add([label, counts[key]], [None, drill_link(filters, list="backlog", age=key)])
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
    totals: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for cell in agreement_cells(filters):
        totals[cell["ai_intent"]][0] += cell["reviewed"]
        totals[cell["ai_intent"]][1] += cell["agreed"]
    known = Intent.objects.filter(pk__in=[pk for pk in totals if pk is not None])
    intents = {pk: (key, name) for pk, key, name in known.values_list("pk", "key", "name")}
    rows = [(*intents.get(pk, ("", "No intent")), *counts) for pk, counts in totals.items()]
    for key, name, reviewed, agreed in sorted(rows, key=lambda row: (-row[2], row[1])):
        panel.add(
            [name, reviewed, agreed, f"{agreed / reviewed:.0%}"],
            [
                None,
                drill_link(filters, list="reviews", ai_intent=key or "-"),
                drill_link(filters, list="reviews", ai_intent=key or "-", agreed="1"),
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
    for row in autoreplies.outcome_counts(*filters.bounds, intent=filters.intent):
        panel.add(
            [row["mode"], row["verdict"], row["grade"], row["n"]],
            [
                None,
                None,
                None,
                drill_link(
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
    over_time(causes, filters, cells, lambda c: c["root_causes"], "root_cause", key_names(RootCause))

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
    names = key_names(ResolutionMethod)
    for key, n in sorted(totals.items(), key=lambda item: -item[1]):
        methods.add(
            [key_label(names, key), n, f"{n / total:.0%}"], [None, drill_link(filters, method=key), None]
        )

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
    intents = intent_names()
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
                key_label(intents, key),
                *(bands[key].get(band, 0) for band, _, _ in EFFORT_BANDS),
                round(effort_sum / effort_count, 1) if effort_count else None,
            ],
            [
                None,
                *(drill_link(filters, intent=key or "-", band=band) for band, _, _ in EFFORT_BANDS),
                drill_link(filters, intent=key or "-"),
            ],
        )
    return [causes, methods, effort]


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
    names = people_names(user_ids=[agent for agent, _ in totals], team_ids=[team for _, team in totals])
    for (agent, team), row in sorted(totals.items(), key=lambda item: -item[1]["conversations"]):
        panel.add(
            [
                names[agent].name if agent else "Unassigned",
                names[team].name if team else "No team",
                int(row["conversations"]),
                average(row["first_response_sum"], row["first_response_count"], 60),
                average(row["resolution_sum"], row["resolution_count"], 3600),
                average(row["tone_sum"], row["tone_count"]),
                average(row["accuracy_sum"], row["accuracy_count"]),
                average(row["effort_sum"], row["effort_count"]),
            ],
            [
                None,
                None,
                drill_link(filters, agent=agent or "-", team=team or "-"),
                None,
                None,
                None,
                None,
                None,
            ],
        )
    return [panel]


PAGES: dict[str, tuple[str, Callable[[Filters], list[Panel]]]] = {
    "overview": ("Overview", overview_panels),
    "causes": ("Causes and effort", causes_panels),
    "agents": ("Agents", agents_panels),
}


# The filters whose values are Kustomer ids of people, shown by name (kustomer.selectors.people_names).
PEOPLE = {"agent": "user_ids", "team": "team_ids"}


def filter_choices(filters: Filters) -> dict[str, list[tuple[str, str]]]:
    """Values seen in the date range for each filter, with readable labels where we have them."""
    seen: dict[str, set[str]] = defaultdict(set)
    days = DailyChoice.objects.filter(day__gte=filters.start, day__lte=filters.end)
    for dimension, value in days.values_list("dimension", "value").distinct():
        seen[dimension].add(value)
    intents = intent_names()
    choices = {}
    for name in FILTER_DIMENSIONS:
        values = seen[name] | ({getattr(filters, name)} - {""})
        labels = intents if name == "intent" else {}
        if name in PEOPLE:
            labels = {key: person.name for key, person in people_names(**{PEOPLE[name]: values}).items()}
        choices[name] = sorted(((v, labels.get(v, v)) for v in values), key=lambda item: item[1].lower())
    choices["language"] = language_choices(sorted(seen["language"] | ({filters.language} - {""})))
    return choices
