"""Reads of the auto-reply pipeline: readiness per policy, the shadow review list."""

import math
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import QuerySet

from classification.models import Classification

from .models import AutoReplyDecision, AutoReplyPolicy, AutoReplySettings, Mode, ShadowReview

Z_95 = 1.959964  # two-sided 95%


def wilson_lower_bound(approved: int, graded: int, z: float = Z_95) -> float | None:
    """The lower end of the Wilson score interval: how low the true approval rate may plausibly be."""
    if graded == 0:
        return None
    p = approved / graded
    denominator = 1 + z * z / graded
    centre = p + z * z / (2 * graded)
    margin = z * math.sqrt(p * (1 - p) / graded + z * z / (4 * graded * graded))
    return max(0.0, (centre - margin) / denominator)


@dataclass(frozen=True)
class Readiness:
    """How a policy's shadow replies were graded, and whether that passes the bar set in the admin."""

    policy_id: int | None
    label: str
    graded: int
    approved: int
    approval_rate: float | None
    wilson_lower: float | None
    min_graded: int
    min_approval: float
    waiting: int = 0

    @property
    def ready(self) -> bool:
        return (
            self.graded >= self.min_graded
            and self.approval_rate is not None
            and self.approval_rate >= self.min_approval
        )

    @property
    def summary(self) -> str:
        rate = f"{self.approval_rate:.0%}" if self.approval_rate is not None else "no"
        return (
            f"{rate} approval over {self.graded} graded repl{'y' if self.graded == 1 else 'ies'}; the bar is "
            f"{self.min_approval:.0%} over at least {self.min_graded}"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "ready": self.ready}


def shadow_replies() -> QuerySet[AutoReplyDecision]:
    """Decisions that would have replied in shadow mode: what reviewers grade."""
    return AutoReplyDecision.objects.filter(mode=Mode.SHADOW, verdict=AutoReplyDecision.Verdict.REPLY)


def policy_readiness(*, policy: AutoReplyPolicy, config: AutoReplySettings | None = None) -> Readiness:
    config = config or AutoReplySettings.load()
    replies = shadow_replies().filter(policy=policy) if policy.pk else shadow_replies().none()
    graded = ShadowReview.objects.filter(decision__in=replies)
    total = graded.count()
    approved = graded.filter(grade=ShadowReview.Grade.GOOD).count()
    return Readiness(
        policy_id=policy.pk,
        label=str(policy) if policy.intent_id else "new policy",
        graded=total,
        approved=approved,
        approval_rate=approved / total if total else None,
        wilson_lower=wilson_lower_bound(approved, total),
        min_graded=config.readiness_min_graded,
        min_approval=float(Decimal(config.readiness_min_approval)),
        waiting=replies.filter(review__isnull=True).count(),
    )


def readiness_all() -> list[tuple[AutoReplyPolicy, Readiness]]:
    config = AutoReplySettings.load()
    policies = AutoReplyPolicy.objects.select_related("intent", "sub_intent").order_by(
        "intent__position", "intent__key", "sub_intent__key"
    )
    return [(policy, policy_readiness(policy=policy, config=config)) for policy in policies]


def shadow_list(*, ungraded_only: bool) -> QuerySet[AutoReplyDecision]:
    replies = shadow_replies().select_related(
        "conversation__customer", "classification__intent", "classification__sub_intent", "review"
    )
    if ungraded_only:
        replies = replies.filter(review__isnull=True)
    return replies.order_by("created_at", "pk")


def shadow_item_get(*, decision_pk: int) -> AutoReplyDecision:
    return (
        shadow_replies()
        .select_related(
            "conversation__customer",
            "classification__intent",
            "classification__sub_intent",
            "policy__intent",
            "policy__sub_intent",
            "review__reviewer",
        )
        .get(pk=decision_pk)
    )


def shadow_next(*, after: AutoReplyDecision | None = None) -> AutoReplyDecision | None:
    """The oldest ungraded shadow reply, other than `after`."""
    pending = shadow_list(ungraded_only=True)
    if after is not None:
        pending = pending.exclude(pk=after.pk)
    return pending.first()


@dataclass(frozen=True)
class DecisionCounts:
    """Auto-reply decisions so far, and classifications still waiting for theirs."""

    shadow: int
    blocked: int
    undecided: int


def decision_counts() -> DecisionCounts:
    decisions = AutoReplyDecision.objects.all()
    return DecisionCounts(
        shadow=shadow_replies().count(),
        blocked=decisions.filter(verdict=AutoReplyDecision.Verdict.BLOCKED).count(),
        undecided=Classification.objects.filter(
            status=Classification.Status.DONE, current=True, autoreply_decisions__isnull=True
        ).count(),
    )
