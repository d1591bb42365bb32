"""A backtest's figures from its per-conversation rows: accuracy, auto share, calibration and ECE, cost."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

# Confidence bands of the calibration table: [low, high), the last one closed at 1.
BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
CONFUSED_PAIRS = 10


@dataclass(frozen=True)
class Row:
    """What the figures need of one conversation (a BacktestItem, or a hand-built row in tests)."""

    intent: str
    sub_intent: str
    confidence: float | None
    route: str
    label_intent: str = ""
    label_sub_intent: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: Decimal = Decimal("0")
    autoreply: dict = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return bool(self.label_intent)

    @property
    def correct(self) -> bool:
        return self.intent == self.label_intent

    @property
    def sub_correct(self) -> bool:
        return self.correct and self.sub_intent == self.label_sub_intent


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _band(confidence: float) -> int:
    for index in range(len(BANDS) - 2, -1, -1):
        if confidence >= BANDS[index]:
            return index
    return 0


def calibration(rows: list[Row]) -> tuple[list[dict], float | None]:
    """Per band of confidence: count, mean confidence, observed accuracy; and the expected calibration
    error, the count-weighted mean gap between confidence and accuracy (labelled rows with a confidence)."""
    scored = [row for row in rows if row.labelled and row.confidence is not None]
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in scored:
        grouped[_band(row.confidence)].append(row)
    table, error = [], 0.0
    for index in range(len(BANDS) - 1):
        members = grouped.get(index, [])
        low, high = BANDS[index], BANDS[index + 1]
        entry = {"band": f"{low:.2f} to {high:.2f}", "count": len(members)}
        if members:
            mean = sum(row.confidence for row in members) / len(members)
            accuracy = sum(row.correct for row in members) / len(members)
            error += len(members) / len(scored) * abs(mean - accuracy)
            entry.update(
                confidence=round(mean, 4), accuracy=round(accuracy, 4), gap=round(mean - accuracy, 4)
            )
        else:
            entry.update(confidence=None, accuracy=None, gap=None)
        table.append(entry)
    return table, (round(error, 4) if scored else None)


def _autoreply(rows: list[Row]) -> list[dict]:
    policies: dict[str, dict] = {}
    for row in rows:
        policy = row.autoreply.get("policy")
        if not policy:
            continue
        entry = policies.setdefault(
            policy,
            {
                "policy": policy,
                "conversations": 0,
                "would_reply": 0,
                "order_unverified": 0,
                "right": 0,
                "wrong": 0,
                "blocked": Counter(),
            },
        )
        entry["conversations"] += 1
        blocked = row.autoreply.get("blocked")
        if blocked:
            entry["blocked"][blocked] += 1
            continue
        entry["would_reply"] += 1
        entry["order_unverified"] += bool(row.autoreply.get("order_unverified"))
        if row.labelled:
            # Right when the reply fits the label: same intent, and no sub-intent that contradicts it.
            fits = row.correct and (not row.sub_intent or not row.label_sub_intent or row.sub_correct)
            entry["right" if fits else "wrong"] += 1
    return [
        {**entry, "blocked": dict(entry["blocked"].most_common())}
        for entry in sorted(policies.values(), key=lambda e: e["policy"])
    ]


def backtest_figures(items: Iterable[Row]) -> dict:
    """Every figure of the report, JSON-ready."""
    rows = list(items)
    labelled = [row for row in rows if row.labelled]
    with_sub = [row for row in labelled if row.label_sub_intent]
    auto = [row for row in rows if row.route == "auto"]
    auto_labelled = [row for row in auto if row.labelled]
    table, ece = calibration(rows)
    per_intent: dict[str, list[Row]] = defaultdict(list)
    for row in labelled:
        per_intent[row.label_intent].append(row)
    confused = Counter((row.label_intent, row.intent or "(no answer)") for row in labelled if not row.correct)
    cost = sum((row.cost_usd for row in rows), Decimal("0"))
    return {
        "conversations": len(rows),
        "labelled": len(labelled),
        "correct": sum(row.correct for row in labelled),
        "accuracy": _share(sum(row.correct for row in labelled), len(labelled)),
        "sub_intent_labelled": len(with_sub),
        "sub_intent_accuracy": _share(sum(row.sub_correct for row in with_sub), len(with_sub)),
        "auto": len(auto),
        "auto_share": _share(len(auto), len(rows)),
        "auto_labelled": len(auto_labelled),
        "auto_accuracy": _share(sum(row.correct for row in auto_labelled), len(auto_labelled)),
        "no_answer": sum(not row.intent for row in rows),
        "ece": ece,
        "calibration": table,
        "per_intent": [
            {
                "intent": intent,
                "count": len(members),
                "correct": sum(row.correct for row in members),
                "accuracy": _share(sum(row.correct for row in members), len(members)),
            }
            for intent, members in sorted(per_intent.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        "confused": [
            {"label": label, "predicted": predicted, "count": count}
            for (label, predicted), count in confused.most_common(CONFUSED_PAIRS)
        ],
        "cost_usd": float(round(cost, 8)),
        "input_tokens": sum(row.input_tokens for row in rows),
        "output_tokens": sum(row.output_tokens for row in rows),
        "cache_creation_tokens": sum(row.cache_creation_tokens for row in rows),
        "cache_read_tokens": sum(row.cache_read_tokens for row in rows),
        "autoreply": _autoreply(rows),
    }
