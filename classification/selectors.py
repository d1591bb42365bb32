"""Reads of the classification pipeline: the triage queue, its counts, the quality report."""

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bearscope.llm import llm_configured
from kustomer.models import Message

from .models import Classification, ClassifierSettings, LocalModelVersion, TriageReview
from .reasons import reason_label

# Queue filter bands: key -> (label, lower bound inclusive, upper bound exclusive).
QUEUE_BANDS: dict[str, tuple[str, float | None, float | None]] = {
    "lt50": ("Below 0.5", None, 0.5),
    "50-70": ("0.5 to 0.7", 0.5, 0.7),
    "70-90": ("0.7 to 0.9", 0.7, 0.9),
    "gte90": ("0.9 and above", 0.9, None),
    "none": ("No confidence (error)", None, None),
}

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
class QueueFilters:
    """What the reviewer narrowed the queue to; empty strings mean no filter."""

    intent: str = ""
    band: str = ""
    channel: str = ""
    language: str = ""

    def as_query(self) -> dict[str, str]:
        pairs = (("intent", self.intent), ("band", self.band), ("channel", self.channel))
        return {k: v for k, v in (*pairs, ("language", self.language)) if v}

    @property
    def active(self) -> bool:
        return bool(self.as_query())


def triage_waiting() -> QuerySet[Classification]:
    """Every conversation waiting for a reviewer, oldest first."""
    return (
        Classification.objects.filter(
            route=Classification.Route.TRIAGE,
            status=Classification.Status.DONE,
            current=True,
            review__isnull=True,
        )
        .select_related("conversation", "conversation__customer", "intent", "sub_intent", "claimed_by")
        .order_by("classified_at", "pk")
    )


def _band_q(band: str) -> Q:
    if band == "none":
        return Q(confidence__isnull=True)
    _, low, high = QUEUE_BANDS[band]
    q = Q(confidence__isnull=False)
    if low is not None:
        q &= Q(confidence__gte=low)
    if high is not None:
        q &= Q(confidence__lt=high)
    return q


def triage_queue(*, filters: QueueFilters) -> QuerySet[Classification]:
    """The waiting conversations that match the filters, oldest first."""
    queue = triage_waiting()
    if filters.intent:
        queue = queue.filter(intent__key=filters.intent, intent__parent__isnull=True)
    if filters.band in QUEUE_BANDS:
        queue = queue.filter(_band_q(filters.band))
    if filters.language:
        queue = queue.filter(language=filters.language)
    if filters.channel:
        if connection.features.supports_json_field_contains:
            queue = queue.filter(conversation__channels__contains=[filters.channel])
        else:
            # SQLite cannot look inside a JSON list; the queue is small enough to check here.
            rows = queue.values_list("pk", "conversation__channels")
            queue = queue.filter(pk__in=[pk for pk, channels in rows if filters.channel in (channels or [])])
    return queue


def triage_next(*, filters: QueueFilters, user: AbstractBaseUser) -> Classification | None:
    """The oldest matching conversation nobody else is reviewing right now."""
    now = timezone.now()
    return (
        triage_queue(filters=filters)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user) | Q(claimed_until__lt=now))
        .first()
    )


def triage_channels() -> list[str]:
    """The channels of the waiting conversations, for the channel filter."""
    channels: set[str] = set()
    for row in triage_waiting().values_list("conversation__channels", flat=True):
        channels.update(c for c in (row or []) if isinstance(c, str))
    return sorted(channels)


def triage_languages() -> list[str]:
    """The customer languages of the waiting conversations, for the language filter."""
    return sorted(set(triage_waiting().exclude(language="").values_list("language", flat=True)))


@dataclass
class QueueCounts:
    total: int
    by_intent: list[dict] = field(default_factory=list)  # key, name, count; key "" = no proposal
    by_reason: list[dict] = field(default_factory=list)  # reason, label, count


def triage_counts() -> QueueCounts:
    """How many conversations wait, per proposed intent and per reason they are in triage."""
    waiting = triage_waiting().order_by()
    by_intent = [
        {"key": row["intent__key"] or "", "name": row["intent__name"] or "No proposal", "count": row["n"]}
        for row in waiting.values("intent__key", "intent__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "intent__key")
    ]
    by_reason = [
        {"reason": row["route_reason"], "label": reason_label(row["route_reason"]), "count": row["n"]}
        for row in waiting.values("route_reason").annotate(n=Count("pk")).order_by("-n", "route_reason")
    ]
    return QueueCounts(total=sum(row["count"] for row in by_intent), by_intent=by_intent, by_reason=by_reason)


def triage_item_get(*, classification_pk: int) -> Classification:
    """A triage classification with what the item page shows; raises DoesNotExist otherwise."""
    return Classification.objects.select_related(
        "conversation",
        "conversation__customer",
        "intent",
        "sub_intent",
        "priority",
        "complexity",
        "claimed_by",
        "review",
        "review__reviewer",
    ).get(pk=classification_pk, route=Classification.Route.TRIAGE, status=Classification.Status.DONE)


def conversation_transcript(*, conversation_id: int) -> QuerySet[Message]:
    """The mirrored messages of a conversation in the order they were sent."""
    return Message.objects.filter(conversation_id=conversation_id).order_by(
        Coalesce("sent_at", "kustomer_created_at", "created_at"), "pk"
    )


# --- Quality report ---------------------------------------------------------------------------


@dataclass
class QualityReport:
    reviews: int
    agreed: int
    agreement_pct: float | None
    by_intent: list[dict]  # key, name, reviews, agreed, agreement_pct
    confused_pairs: list[dict]  # ai_key, ai_name, reviewer_key, reviewer_name, count
    calibration: list[dict]  # low, high, label, reviews, agreed, accuracy_pct
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


def quality_calibration() -> list[dict]:
    """Per confidence band: reviewed items and the share the reviewer agreed with."""
    aggregates = {}
    last = len(CALIBRATION_BANDS) - 1
    for i, (low, high) in enumerate(CALIBRATION_BANDS):
        upper = (
            Q(classification__confidence__lte=high) if i == last else Q(classification__confidence__lt=high)
        )
        band = Q(classification__confidence__gte=low) & upper
        aggregates[f"n{i}"] = Count("pk", filter=band)
        aggregates[f"ok{i}"] = Count("pk", filter=band & Q(agreed=True))
    totals = TriageReview.objects.aggregate(**aggregates)
    return [
        {
            "low": low,
            "high": high,
            "label": f"{low:g} to {high:g}",
            "reviews": totals[f"n{i}"],
            "agreed": totals[f"ok{i}"],
            "accuracy_pct": _pct(totals[f"ok{i}"], totals[f"n{i}"]),
        }
        for i, (low, high) in enumerate(CALIBRATION_BANDS)
    ]


def quality_report() -> QualityReport:
    """Everything the quality page shows, from reviews and current classifications."""
    overall = TriageReview.objects.aggregate(n=Count("pk"), ok=Count("pk", filter=Q(agreed=True)))
    done = Classification.objects.filter(current=True, status=Classification.Status.DONE)
    cost = done.aggregate(n=Count("pk"), total=Sum("cost_usd"))
    total_cost = Decimal(cost["total"] or 0)
    per_1000 = (total_cost * 1000 / cost["n"]).quantize(Decimal("0.0001")) if cost["n"] else None
    latencies = list(done.filter(latency_ms__isnull=False).values_list("latency_ms", flat=True))
    return QualityReport(
        reviews=overall["n"],
        agreed=overall["ok"],
        agreement_pct=_pct(overall["ok"], overall["n"]),
        by_intent=quality_agreement_by_intent(),
        confused_pairs=quality_confused_pairs(),
        calibration=quality_calibration(),
        classifications=cost["n"],
        cost_total_usd=total_cost,
        cost_per_1000_usd=per_1000,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


@dataclass(frozen=True)
class RoutingCounts:
    """Current classifications: decided (auto or triage), written back, and still in progress."""

    classified: int
    auto: int
    triage: int
    written: int
    unfinished: int


def routing_counts() -> RoutingCounts:
    current = Classification.objects.filter(current=True)
    done = current.filter(status=Classification.Status.DONE)
    return RoutingCounts(
        classified=done.count(),
        auto=done.filter(route=Classification.Route.AUTO).count(),
        triage=done.filter(route=Classification.Route.TRIAGE).count(),
        written=done.filter(writeback_status=Classification.WriteBack.DONE).count(),
        unfinished=current.exclude(
            status=Classification.Status.DONE, writeback_status=Classification.WriteBack.DONE
        ).count(),
    )


def classifier_in_use() -> tuple[str, bool]:
    """Which classifier classifies new conversations, in a sentence; False when none can."""
    config = ClassifierSettings.load()
    local = LocalModelVersion.objects.filter(active=True).defer("artifact").first()
    if llm_configured():
        uses = [f"fallback when Claude fails ({local})"] if local and config.local_fallback else []
        if local and config.local_cascade:
            uses.append(f"cascade at confidence {config.local_cascade_threshold}")
        also = f", local model as {' and '.join(uses)}" if uses else ""
        return f"Claude ({config.model_id}){also}", True
    if local and config.local_offline_default:
        return (
            f"the local model ({local}), because ANTHROPIC_API_KEY is not set; "
            "set it to classify with Claude",
            True,
        )
    return (
        "none (no ANTHROPIC_API_KEY and no local model), so every conversation goes to the triage queue "
        "with the reason 'no_classifier'",
        False,
    )
