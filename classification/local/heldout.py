"""Held-out evaluation of the local tier as the pipeline uses it: what routes at a threshold, how right."""

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import SEPARATOR, LocalModelError

BANDS = 10


@dataclass(frozen=True)
class Answer:
    """The local tier's answer to one message, as routing reads it."""

    intent: str
    confidence: float  # probability the intent is right: routing compares it with the threshold
    label: str  # the best full label (intent/sub_intent where the taxonomy has one)
    label_confidence: float  # probability the full label is right: the sub-intent is given at the threshold

    def written(self, threshold: float) -> str:
        """The label the pipeline writes when it routes: without the sub-intent unless it is confident."""
        return self.label if self.label_confidence >= threshold else self.intent


@dataclass(frozen=True)
class HeldOut:
    text: str
    intent: str  # empty: out of scope, must not route
    sub_intent: str

    @property
    def label(self) -> str:
        return f"{self.intent}{SEPARATOR}{self.sub_intent}" if self.sub_intent else self.intent


def calibration_table(confidence: Sequence[float], correct: Sequence[bool], bands: int = BANDS) -> dict:
    """Expected calibration error over `bands` equal-width bands of confidence, and the bands themselves.

    ECE is the mean over messages of |accuracy of its band - mean confidence of its band|.
    """
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    band_of = np.minimum((confidence * bands).astype(int), bands - 1)
    rows, error = [], 0.0
    for band in range(bands):
        members = band_of == band
        count = int(members.sum())
        row = {"band": f"{band / bands:.1f}-{(band + 1) / bands:.1f}", "count": count}
        if count:
            mean, accuracy = float(confidence[members].mean()), float(correct[members].mean())
            error += count * abs(accuracy - mean)
            row |= {"mean_confidence": round(mean, 4), "accuracy": round(accuracy, 4)}
        rows.append(row)
    return {"ece": round(error / max(len(confidence), 1), 4), "bands": rows}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def heldout_figures(
    rows: Sequence[HeldOut], answers: Sequence[Answer], threshold: float, reply_threshold: float
) -> dict:
    """Figures of routing `answers` (one per row) at `threshold` against the held-out labels, and of the
    full labels given at the auto-reply `reply_threshold`.

    An out-of-scope row is wrong whatever is answered: in the calibration tables it counts as a miss.
    """
    pairs = list(zip(rows, answers, strict=True))
    in_scope = [(row, a) for row, a in pairs if row.intent]
    out_of_scope = [a for row, a in pairs if not row.intent]
    routed = [(row, a) for row, a in in_scope if a.confidence >= threshold]
    with_sub = [(row, a) for row, a in routed if a.written(threshold) != a.intent]
    replied = [(row, a) for row, a in pairs if a.label_confidence >= reply_threshold]
    per_intent = {}
    for intent in sorted({row.intent for row, _ in in_scope}):
        members = [(row, a) for row, a in in_scope if row.intent == intent]
        went = [(row, a) for row, a in members if a.confidence >= threshold]
        # Of everything routed as this intent, out-of-scope messages included: the share that was it.
        claimed = [row for row, a in pairs if a.confidence >= threshold and a.intent == intent]
        per_intent[intent] = {
            "messages": len(members),
            "top_intent_accuracy": _share(sum(a.intent == intent for _, a in members), len(members)),
            "routed_share": _share(len(went), len(members)),
            "routed_intent_accuracy": _share(sum(a.intent == intent for _, a in went), len(went)),
            "routed_as_it": len(claimed),
            "routed_as_it_precision": _share(sum(row.intent == intent for row in claimed), len(claimed)),
        }
    return {
        "threshold": threshold,
        "messages": len(rows),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "top_intent_accuracy": _share(sum(a.intent == row.intent for row, a in in_scope), len(in_scope)),
        "top_label_accuracy": _share(sum(a.label == row.label for row, a in in_scope), len(in_scope)),
        "routed_share": _share(len(routed), len(in_scope)),
        "routed_intent_accuracy": _share(sum(a.intent == row.intent for row, a in routed), len(routed)),
        # A routed answer without its sub-intent is not wrong, only less specific: it counts as right
        # when the intent is, and the next two figures say how often the sub-intent was given.
        "routed_label_accuracy": _share(
            sum(
                a.written(threshold) in (row.label, row.intent) and a.intent == row.intent
                for row, a in routed
            ),
            len(routed),
        ),
        "routed_with_sub_intent_share": _share(len(with_sub), len(routed)),
        "routed_sub_intent_accuracy": _share(sum(a.label == row.label for row, a in with_sub), len(with_sub)),
        "full_label_at_reply_threshold": {
            "threshold": reply_threshold,
            "share": _share(len(replied), len(rows)),
            "precision": _share(sum(row.label == a.label for row, a in replied), len(replied)),
        },
        "out_of_scope_routed_share": _share(
            sum(a.confidence >= threshold for a in out_of_scope), len(out_of_scope)
        ),
        "out_of_scope_mean_confidence": round(float(np.mean([a.confidence for a in out_of_scope])), 4)
        if out_of_scope
        else None,
        "intent_calibration": calibration_table(
            [a.confidence for a in answers], [row.intent == a.intent for row, a in pairs]
        ),
        "label_calibration": calibration_table(
            [a.label_confidence for a in answers],
            [bool(row.intent) and row.label == a.label for row, a in pairs],
        ),
        "per_intent": per_intent,
    }


def heldout_read(path: Path) -> list[HeldOut]:
    """Rows of a held-out CSV with columns text, intent, sub_intent (intent empty: out of scope)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"text", "intent", "sub_intent"} - set(reader.fieldnames or [])
            if missing:
                raise LocalModelError(f"{path} lacks the column(s) {', '.join(sorted(missing))}.")
            rows = [
                HeldOut(
                    text=row["text"].strip(),
                    intent=row["intent"].strip(),
                    sub_intent=row["sub_intent"].strip(),
                )
                for row in reader
            ]
    except OSError as exc:
        raise LocalModelError(f"Cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LocalModelError(f"{path} is not a UTF-8 CSV file: {exc}") from exc
    if empty := [n for n, row in enumerate(rows, 2) if not row.text]:
        raise LocalModelError(f"{path} has rows without text (first at line {empty[0]}).")
    return rows


def sample_conversations(path: Path) -> list[tuple[str, str]]:
    """(id, text) per sample conversation of the sandbox's seed file: its subject and first customer message,
    what the classifier reads when the conversation's first message arrives."""
    data = json.loads(path.read_text(encoding="utf-8"))
    samples = []
    for conversation in data.get("conversations", []):
        first = next((m for m in conversation.get("messages", []) if m.get("direction") == "in"), None)
        if first is not None:
            text = "\n".join(filter(None, [conversation.get("subject"), first.get("text", "")]))
            samples.append((conversation["id"], text))
    return samples
