"""Reads of the quality report: agreement, confusions, calibration with ECE, audits and drift."""

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, Q, Sum

from bearscope.stats import wilson_interval

from .models import Classification, ClassifierSettings, TriageReview
from .selectors import triage_waiting

# Calibration bands of the quality report, [low, high); the last one includes 1.0.
CALIBRATION_BANDS: list[tuple[float, float]] = [
    (0.0, 0.5),
    (0.5, 0.6),
    (0.6, 0.7),
    (0.7, 0.8),
    (0.8, 0.9),
    (0.9, 0.95),
    (0.95, 1.0),
]


@dataclass(frozen=True)
class AuditAgreement:
    """How often reviewers agreed with automatic routes on the latest audits, against the floor."""

    audits: int  # audit reviews so far
    waiting: int  # audit items not reviewed yet
    window: int
    in_window: int
    agreed: int
    floor: float

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.in_window if self.in_window else None

    @property
    def full(self) -> bool:
        """Drift is only judged on a full window: a few early audits say little."""
        return self.in_window >= self.window

    @property
    def below_floor(self) -> bool:
        return self.full and self.agreement is not None and self.agreement < self.floor


@dataclass
class QualityReport:
    reviews: int
    agreed: int
    agreement_pct: float | None
    by_intent: list[dict]  # key, name, reviews, agreed, agreement_pct
    confused_pairs: list[dict]  # ai_key, ai_name, reviewer_key, reviewer_name, count
    calibration: list[dict]  # low, high, label, reviews, audits, agreed, accuracy_pct, ci_low_pct, ...
    ece_pct: float | None
    audit: AuditAgreement
    classifications: int
    cost_total_usd: Decimal
    cost_per_1000_usd: Decimal | None
    latency_p50_ms: int | None
    latency_p95_ms: int | None


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def quality_agreement_by_intent() -> list[dict]:
    """Reviews and agreements grouped by the intent the AI proposed."""
    rows = (
        TriageReview.objects.values("classification__intent__key", "classification__intent__name")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(agreed=True)))
        .order_by("-n", "classification__intent__key")
    )
    return [
        {
            "key": row["classification__intent__key"] or "",
            "name": row["classification__intent__name"] or "No proposal (error)",
            "reviews": row["n"],
            "agreed": row["ok"],
            "agreement_pct": _pct(row["ok"], row["n"]),
        }
        for row in rows
    ]


def quality_confused_pairs(*, limit: int = 10) -> list[dict]:
    """The intent pairs the AI mixes up most: its proposal, then what the reviewer chose."""
    rows = (
        TriageReview.objects.filter(classification__intent__isnull=False)
        .exclude(intent=F("classification__intent"))
        .values("classification__intent__key", "classification__intent__name", "intent__key", "intent__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "classification__intent__key", "intent__key")[:limit]
    )
    return [
        {
            "ai_key": row["classification__intent__key"],
            "ai_name": row["classification__intent__name"],
            "reviewer_key": row["intent__key"],
            "reviewer_name": row["intent__name"],
            "count": row["n"],
        }
        for row in rows
    ]


def _band_row(low: float, high: float, n: int, ok: int, audits: int, mean: float | None) -> dict:
    interval = wilson_interval(ok, n)
    return {
        "low": low,
        "high": high,
        "label": f"{low:g} to {high:g}",
        "reviews": n,
        "audits": audits,
        "agreed": ok,
        "accuracy_pct": _pct(ok, n),
        "ci_low_pct": round(100 * interval[0], 1) if interval else None,
        "ci_high_pct": round(100 * interval[1], 1) if interval else None,
        "mean_confidence": mean,
    }


def quality_calibration() -> list[dict]:
    """Per confidence band: reviews (audits among them), the share agreed with, its 95% Wilson interval,
    and the mean confidence the AI gave them. Every band is listed, empty ones too."""
    aggregates = {}
    last = len(CALIBRATION_BANDS) - 1
    for i, (low, high) in enumerate(CALIBRATION_BANDS):
        upper = (
            Q(classification__confidence__lte=high) if i == last else Q(classification__confidence__lt=high)
        )
        band = Q(classification__confidence__gte=low) & upper
        aggregates[f"n{i}"] = Count("pk", filter=band)
        aggregates[f"ok{i}"] = Count("pk", filter=band & Q(agreed=True))
        aggregates[f"audit{i}"] = Count("pk", filter=band & Q(classification__audit=True))
        aggregates[f"mean{i}"] = Avg("classification__confidence", filter=band)
    totals = TriageReview.objects.aggregate(**aggregates)
    return [
        _band_row(low, high, totals[f"n{i}"], totals[f"ok{i}"], totals[f"audit{i}"], totals[f"mean{i}"])
        for i, (low, high) in enumerate(CALIBRATION_BANDS)
    ]


def expected_calibration_error(calibration: list[dict]) -> float | None:
    """ECE: the gap between confidence and accuracy per band, weighted by the band's share of reviews."""
    total = sum(band["reviews"] for band in calibration)
    if not total:
        return None
    return sum(
        band["reviews"] / total * abs(band["agreed"] / band["reviews"] - band["mean_confidence"])
        for band in calibration
        if band["reviews"]
    )


def audit_agreement(*, config: ClassifierSettings | None = None) -> AuditAgreement:
    """Agreement on the latest `audit_window` audit reviews, and how many audits there are."""
    config = config or ClassifierSettings.load()
    audits = TriageReview.objects.filter(classification__audit=True)
    newest_first = audits.order_by("-created_at", "-pk").values_list("agreed", flat=True)
    latest = list(newest_first[: config.audit_window])
    return AuditAgreement(
        audits=audits.count(),
        waiting=triage_waiting().filter(audit=True).count(),
        window=config.audit_window,
        in_window=len(latest),
        agreed=sum(latest),
        floor=float(config.audit_agreement_floor),
    )


def quality_report() -> QualityReport:
    """Everything the quality page shows, from reviews and current classifications."""
    overall = TriageReview.objects.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(agreed=True)))
    done = Classification.objects.filter(current=True, status=Classification.Status.DONE)
    cost = done.aggregate(n=Count("pk"), total=Sum("cost_usd"))
    total_cost = Decimal(cost["total"] or 0)
    per_1000 = (total_cost * 1000 / cost["n"]).quantize(Decimal("0.0001")) if cost["n"] else None
    latencies = list(done.filter(latency_ms__isnull=False).values_list("latency_ms", flat=True))
    calibration = quality_calibration()
    ece = expected_calibration_error(calibration)
    return QualityReport(
        reviews=overall["n"],
        agreed=overall["ok"],
        agreement_pct=_pct(overall["ok"], overall["n"]),
        by_intent=quality_agreement_by_intent(),
        confused_pairs=quality_confused_pairs(),
        calibration=calibration,
        ece_pct=round(100 * ece, 1) if ece is not None else None,
        audit=audit_agreement(),
        classifications=cost["n"],
        cost_total_usd=total_cost,
        cost_per_1000_usd=per_1000,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )
