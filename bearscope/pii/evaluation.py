"""Recall, precision and speed of the redactor on the generated support messages."""

import json
import math
import time
from collections import Counter
from pathlib import Path

from .finders import KINDS, Finding
from .redactor import KnownPerson, Redactor

DEFAULT_SET = Path(__file__).resolve().parent / "data" / "generated_messages.jsonl"


def messages_load(*, path: Path = DEFAULT_SET) -> list[dict]:
    """The labelled messages of a JSONL set written by scripts/pii_generate.py."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def redactor_for(*, message: dict) -> Redactor:
    """A fresh Redactor for one labelled message, with its customer record and region."""
    known = message.get("known") or {}
    person = KnownPerson.of(
        names=known.get("names", ()), emails=known.get("emails", ()), phones=known.get("phones", ())
    )
    return Redactor(known=person, region=message.get("region") or "US")


def redaction_evaluate(*, messages: list[dict], examples: int = 5) -> dict:
    """Per kind recall (labelled items covered by a finding of that kind) and precision (findings
    covering a labelled item of their kind); look-alikes and out-of-scope items a finding touched;
    milliseconds per message (a new Redactor and one `redact`)."""
    labelled, found, detected, correct = Counter(), Counter(), Counter(), Counter()
    lookalikes, lookalikes_hit, outside, outside_hit = Counter(), Counter(), Counter(), Counter()
    misses, false_positives, kept_wrongly, timings = [], [], [], []
    for message in messages:
        text = message["text"]
        started = time.perf_counter()
        redactor_for(message=message).redact(text)
        timings.append((time.perf_counter() - started) * 1000)
        findings = redactor_for(message=message).find(text)
        for item in message["personal"]:
            labelled[item["kind"]] += 1
            if any(_covers(f, item) for f in findings if f.kind == item["kind"]):
                found[item["kind"]] += 1
            else:
                misses.append(_example(message, item))
        for finding in findings:
            detected[finding.kind] += 1
            if any(_covers(finding, item) for item in message["personal"] if item["kind"] == finding.kind):
                correct[finding.kind] += 1
            else:
                false_positives.append(
                    _example(message, {"kind": finding.kind, "start": finding.start, "end": finding.end})
                )
        for item in message["lookalikes"]:
            lookalikes[item["kind"]] += 1
            if any(_overlaps(f, item) for f in findings):
                lookalikes_hit[item["kind"]] += 1
                kept_wrongly.append(_example(message, item))
        for item in message.get("out_of_scope", ()):
            outside[item["kind"]] += 1
            outside_hit[item["kind"]] += any(_overlaps(f, item) for f in findings)
    kinds = {kind: _figures(labelled[kind], found[kind], detected[kind], correct[kind]) for kind in KINDS}
    return {
        "messages": len(messages),
        "kinds": kinds,
        "overall": _figures(labelled.total(), found.total(), detected.total(), correct.total()),
        "lookalikes": {
            "total": lookalikes.total(),
            "redacted": lookalikes_hit.total(),
            "by_kind": {
                k: {"total": n, "redacted": lookalikes_hit[k]} for k, n in sorted(lookalikes.items())
            },
        },
        "out_of_scope": {k: {"total": n, "redacted": outside_hit[k]} for k, n in sorted(outside.items())},
        "speed_ms": {
            "p50": _percentile(timings, 0.5),
            "p99": _percentile(timings, 0.99),
            "mean": round(sum(timings) / max(len(timings), 1), 3),
        },
        "examples": {
            "missed": misses[:examples],
            "false_positives": false_positives[:examples],
            "lookalikes_redacted": kept_wrongly[:examples],
        },
    }


def _covers(finding: Finding, item: dict) -> bool:
    return finding.start <= item["start"] and finding.end >= item["end"]


def _overlaps(finding: Finding, item: dict) -> bool:
    return finding.start < item["end"] and finding.end > item["start"]


def _figures(labelled: int, found: int, detected: int, correct: int) -> dict:
    return {
        "labelled": labelled,
        "found": found,
        "recall": round(found / labelled, 4) if labelled else None,
        "detected": detected,
        "correct": correct,
        "precision": round(correct / detected, 4) if detected else None,
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 3)


def _example(message: dict, item: dict) -> dict:
    text = message["text"]
    return {
        "id": message["id"],
        "kind": item["kind"],
        "text": text[item["start"] : item["end"]],
        "context": text[max(0, item["start"] - 40) : item["end"] + 40],
    }
