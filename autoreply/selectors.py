"""Reads of the auto-reply pipeline: readiness per policy, the shadow review list."""

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from bearscope.stats import wilson_lower_bound
from classification.models import Classification

from .models import AutoReplyDecision, AutoReplyPolicy, AutoReplySettings, Mode, ShadowReview
from .reasons import BlockReason

# How far "more good grades" looks before calling the bar out of reach (a bar of 100% never passes).
MISSING_LOOKAHEAD = 10_000


def good_grades_missing(*, approved: int, graded: int, min_graded: int, min_approval: float) -> int | None:
    """How many more "good as is" grades, and no bad one, would make the Wilson lower bound reach the
    bar with at least `min_graded` graded; None when no number of good grades would."""
    start = max(0, min_graded - graded)
    for more in range(start, start + MISSING_LOOKAHEAD):
        bound = wilson_lower_bound(approved + more, graded + more)
        if bound is not None and bound >= min_approval:
            return more
    return None


@dataclass(frozen=True)
class Readiness:
    """How a policy's shadow replies were graded since its template last changed, and whether that
    passes the bar set in the admin: the Wilson lower bound of the approval rate, over enough grades."""

    policy_id: int | None
    label: str
    graded: int
    approved: int
    approval_rate: float | None
    wilson_lower: float | None
    min_graded: int
    min_approval: float
    waiting: int = 0
    counted_since: datetime | None = None  # when the template last changed; earlier grades do not count

    @property
    def ready(self) -> bool:
        return self.graded >= self.min_graded and (self.wilson_lower or 0.0) >= self.min_approval

    @property
    def missing_good(self) -> int | None:
        """Good grades still needed (0 when ready; None when the bar cannot be reached)."""
        if self.ready:
            return 0
        return good_grades_missing(
            approved=self.approved,
            graded=self.graded,
            min_graded=self.min_graded,
            min_approval=self.min_approval,
        )

    @property
    def missing_text(self) -> str:
        """What is still missing, in a reviewer's words: "12 more good grades"."""
        missing = self.missing_good
        if missing == 0:
            return "nothing"
        if missing is None:
            return "more than a reviewer can grade: the bar cannot be reached, lower it in the settings"
        return f"{missing} more good grade{'' if missing == 1 else 's'}"

    @property
    def summary(self) -> str:
        replies = "reply" if self.graded == 1 else "replies"
        if self.graded:
            figures = (
                f"{self.approved} of {self.graded} graded {replies} good as is ({self.approval_rate:.0%}), "
                f"at least {self.wilson_lower:.1%} with 95% confidence"
            )
        else:
            figures = "no graded replies"
        since = " since the template last changed" if self.counted_since else ""
        return (
            f"{figures}{since}; the bar is at least {self.min_approval:.1%} with 95% confidence "
            f"over at least {self.min_graded} graded"
        )

    @property
    def wilson_lower_pct(self) -> float | None:
        return round(100 * self.wilson_lower, 1) if self.wilson_lower is not None else None

    @property
    def min_approval_pct(self) -> float:
        return round(100 * self.min_approval, 1)

    def as_dict(self) -> dict:
        figures = asdict(self)
        figures["counted_since"] = self.counted_since.isoformat() if self.counted_since else None
        return {**figures, "ready": self.ready, "missing_good": self.missing_good}


def shadow_replies() -> QuerySet[AutoReplyDecision]:
    """Decisions that would have replied in shadow mode: what reviewers grade."""
    return AutoReplyDecision.objects.filter(mode=Mode.SHADOW, verdict=AutoReplyDecision.Verdict.REPLY)


def policy_readiness(*, policy: AutoReplyPolicy, config: AutoReplySettings | None = None) -> Readiness:
    """Readiness from the grades of replies rendered since the policy's template last changed."""
    config = config or AutoReplySettings.load()
    replies = shadow_replies().filter(policy=policy) if policy.pk else shadow_replies().none()
    changes = [policy.template_changed_at, policy.template.changed_at if policy.template_id else None]
    since = max((at for at in changes if at is not None), default=None)
    if since is not None:
        replies = replies.filter(created_at__gte=since)
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
        counted_since=since,
    )


def readiness_all() -> list[tuple[AutoReplyPolicy, Readiness]]:
    config = AutoReplySettings.load()
    policies = AutoReplyPolicy.objects.select_related("intent", "sub_intent", "template").order_by(
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
    """Auto-reply decisions so far, and classifications still waiting for theirs.

    `blocked` counts every blocked decision; of those, `in_triage` were not routed automatically
    and `no_policy` have an intent without an auto-reply policy.
    """

    shadow: int
    blocked: int
    undecided: int
    in_triage: int = 0
    no_policy: int = 0

    @property
    def guardrail_blocked(self) -> int:
        """Blocked by a guardrail other than triage or the missing policy (order data, channel, ...)."""
        return self.blocked - self.in_triage - self.no_policy


def decision_counts() -> DecisionCounts:
    decisions = AutoReplyDecision.objects.all()
    blocked = decisions.filter(verdict=AutoReplyDecision.Verdict.BLOCKED)
    return DecisionCounts(
        shadow=shadow_replies().count(),
        blocked=blocked.count(),
        in_triage=blocked.filter(reason=BlockReason.CLASSIFICATION).count(),
        no_policy=blocked.filter(reason=BlockReason.INTENT, policy__isnull=True).count(),
        undecided=Classification.objects.filter(
            status=Classification.Status.DONE, current=True, autoreply_decisions__isnull=True
        ).count(),
    )
