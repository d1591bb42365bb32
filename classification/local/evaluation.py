"""Figures of a local classifier on labelled messages: accuracy, macro-F1, coverage and precision, latency."""

import time
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from .classifier import LocalClassifier

THRESHOLDS = tuple(round(0.5 + 0.05 * n, 2) for n in range(10))


def evaluation_figures(predicted: Sequence[str], truth: Sequence[str], confidence: Sequence[float]) -> dict:
    """Accuracy, macro-F1, and coverage and precision at each confidence threshold."""
    correct = np.array([p == t for p, t in zip(predicted, truth, strict=True)])
    confidence = np.asarray(confidence)
    rows = []
    for threshold in THRESHOLDS:
        covered = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "coverage": round(float(covered.mean()), 4),
                "precision": round(float(correct[covered].mean()), 4) if covered.any() else None,
            }
        )
    return {
        "examples": len(truth),
        "labels": len(set(truth)),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "thresholds": rows,
    }


def cascade_threshold_pick(thresholds: list[dict], min_precision: float = 0.98) -> dict | None:
    """The lowest threshold whose precision reaches `min_precision` (the most coverage at that precision)."""
    for row in thresholds:
        if row["precision"] is not None and row["precision"] >= min_precision:
            return row
    return None


def latency_ms(model: LocalClassifier, texts: Sequence[str], limit: int = 2000) -> dict[str, float]:
    """p50 and p99 of classifying one message at a time, as a worker does."""
    sample = list(texts[:limit])
    model.predict(sample[0])  # first call pays for lazy imports and caches
    timings = []
    for text in sample:
        started = time.perf_counter()
        model.predict(text)
        timings.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3), "count": len(timings)}
