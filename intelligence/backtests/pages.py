"""Reads for the backtest pages and exports: the list, one report with its charts, two side by side."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from classification.models import Intent
from kustomer.models import Conversation

from ..models import Backtest, BacktestItem

EXPORT_COLUMNS = [
    "conversation",
    "predicted_intent",
    "predicted_sub_intent",
    "confidence",
    "route",
    "label_intent",
    "label_sub_intent",
]
CHANGED_SHOWN = 200
# The figures compared side by side: (report key, what the team reads, how to show it).
FIGURES = (
    ("conversations", "Conversations", "count"),
    ("labelled", "With a reference label", "count"),
    ("accuracy", "Intent accuracy", "share"),
    ("sub_intent_accuracy", "Sub-intent accuracy", "share"),
    ("auto_share", "Routed automatically", "share"),
    ("auto_accuracy", "Right when routed automatically", "share"),
    ("ece", "Calibration error (ECE)", "number"),
    ("cost_usd", "Cost (USD)", "money"),
    ("input_tokens", "Input tokens", "count"),
    ("output_tokens", "Output tokens", "count"),
)


def backtests_list() -> QuerySet[Backtest]:
    return Backtest.objects.select_related("created_by").order_by("-created_at")


def intent_names() -> dict[str, str]:
    """intent key (or intent/sub-intent) -> the name the team gave it."""
    names = {}
    for intent in Intent.objects.select_related("parent"):
        key = f"{intent.parent.key}/{intent.key}" if intent.parent_id else intent.key
        names[key] = intent.name
    return names


def label_name(names: dict[str, str], intent: str, sub_intent: str = "") -> str:
    if not intent:
        return "(no answer)"
    text = names.get(intent, intent)
    if sub_intent:
        text += f" / {names.get(f'{intent}/{sub_intent}', sub_intent)}"
    return text


def export_rows(*, backtest: Backtest) -> Iterator[list]:
    items = backtest.items.filter(done=True).select_related("conversation").order_by("pk")
    for item in items.iterator(chunk_size=500):
        yield [
            item.conversation.kustomer_id,
            item.intent,
            item.sub_intent,
            item.confidence,
            item.route,
            item.label_intent,
            item.label_sub_intent,
        ]


def _show(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "money":
        return f"${value:,.4f}"
    if kind == "number":
        return f"{value:.3f}"
    return f"{value:,}"


def figures(report: dict) -> list[tuple[str, str]]:
    return [(name, _show(report.get(key), kind)) for key, name, kind in FIGURES]


def charts(report: dict, names: dict[str, str]) -> list[tuple[str, dict]]:
    """Chart data in the shape the insights pages draw (intelligence/insights.js)."""
    bands = [band for band in report.get("calibration", []) if band["count"]]
    intents = report.get("per_intent", [])
    return [
        (
            "chart-calibration",
            {
                "type": "grouped",
                "labels": [band["band"] for band in bands],
                "datasets": [
                    {"label": "Mean confidence", "data": [band["confidence"] for band in bands]},
                    {"label": "Observed accuracy", "data": [band["accuracy"] for band in bands]},
                ],
                "links": [[None] * len(bands), [None] * len(bands)],
            },
        ),
        (
            "chart-intents",
            {
                "type": "grouped",
                "labels": [label_name(names, row["intent"]) for row in intents],
                "datasets": [{"label": "Accuracy", "data": [row["accuracy"] for row in intents]}],
                "links": [[None] * len(intents)],
            },
        ),
    ]


@dataclass(frozen=True)
class Changed:
    conversation: Conversation
    label: str
    first: str
    second: str


def _decision(names: dict[str, str], item: BacktestItem) -> str:
    route = "auto" if item.route == "auto" else "triage"
    return f"{label_name(names, item.intent, item.sub_intent)} ({route})"


def comparison(*, first: Backtest, second: Backtest) -> dict:
    """The figures side by side, and the conversations both replayed whose decision changed."""
    names = intent_names()
    theirs = {
        item.conversation_id: item
        for item in second.items.filter(done=True).only("conversation_id", "intent", "sub_intent", "route")
    }
    changed, common = [], 0
    for item in first.items.filter(done=True).select_related("conversation").order_by("pk"):
        other = theirs.get(item.conversation_id)
        if other is None:
            continue
        common += 1
        if (item.intent, item.sub_intent, item.route) != (other.intent, other.sub_intent, other.route):
            changed.append(
                Changed(
                    conversation=item.conversation,
                    label=label_name(names, item.label_intent, item.label_sub_intent)
                    if item.label_intent
                    else "",
                    first=_decision(names, item),
                    second=_decision(names, other),
                )
            )
    rows = [
        (name, _show(first.report.get(key), kind), _show(second.report.get(key), kind))
        for key, name, kind in FIGURES
    ]
    return {"rows": rows, "changed": changed[:CHANGED_SHOWN], "changed_count": len(changed), "common": common}
