"""Shadow grades, mode switches (live refused below the readiness bar), template changes that restart it."""

from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from bearscope.exceptions import BearScopeError

from ..models import AutoReplyDecision, AutoReplyPolicy, Mode, PolicyAudit, ReplyTemplate, ShadowReview
from ..selectors import Readiness, policy_readiness


class ReadinessNotMet(BearScopeError, ValueError):
    """Switching to live is refused: the intent's shadow replies have not passed the readiness bar."""


class ModeChangeError(BearScopeError, ValueError):
    """The mode change asked for is not possible; the message says why."""


def shadow_review_save(
    *, decision: AutoReplyDecision, reviewer: AbstractBaseUser, grade: str, note: str = ""
) -> ShadowReview:
    """Grade a shadow reply once; a second grade raises IntegrityError (the first one stands)."""
    if grade not in ShadowReview.Grade.values:
        raise ValueError(f"Unknown grade {grade!r}.")
    if decision.mode != Mode.SHADOW or decision.verdict != AutoReplyDecision.Verdict.REPLY:
        raise ValueError("Only shadow replies are graded.")
    return ShadowReview.objects.create(decision=decision, reviewer=reviewer, grade=grade, note=note.strip())


def threshold_parse(value: str | Decimal | float | None) -> Decimal | None:
    """A threshold from an operator: a number from 0 to 1, else ModeChangeError."""
    if value is None or value == "":
        return None
    try:
        threshold = Decimal(str(value)).quantize(Decimal("0.001"))
    except InvalidOperation:
        raise ModeChangeError(f"The threshold must be a number from 0 to 1, not {value!r}.") from None
    if not Decimal("0") <= threshold <= Decimal("1"):
        raise ModeChangeError(f"The threshold must be from 0 to 1, not {threshold}.")
    return threshold


def live_switch_check(
    *, policy: AutoReplyPolicy, mode: str, current_mode: str, override_reason: str = ""
) -> Readiness | None:
    """Readiness when switching to live; ReadinessNotMet unless it passes or a reason overrides it."""
    if mode != Mode.LIVE or current_mode == Mode.LIVE:
        return None
    readiness = policy_readiness(policy=policy)
    if not readiness.ready and not override_reason.strip():
        raise ReadinessNotMet(
            f"{readiness.label} cannot go live yet: {readiness.summary}. It needs {readiness.missing_text}; "
            "keep it in shadow mode until it passes the readiness bar, or override with a written reason."
        )
    return readiness


def policy_mode_set(
    *,
    policy: AutoReplyPolicy,
    mode: str,
    actor: str,
    threshold: Decimal | None = None,
    user: AbstractBaseUser | None = None,
    override_reason: str = "",
) -> PolicyAudit | None:
    """Change a policy's mode and threshold, refused for live below the bar; every change is audited."""
    if mode not in Mode.values:
        raise ModeChangeError(f"Unknown mode {mode!r}; use one of {', '.join(Mode.values)}.")
    before_mode, before_threshold = "", None
    if policy.pk:
        before_mode, before_threshold = (
            AutoReplyPolicy.objects.filter(pk=policy.pk).values_list("mode", "threshold").get()
        )
    readiness = live_switch_check(
        policy=policy, mode=mode, current_mode=before_mode, override_reason=override_reason
    )
    new_threshold = threshold if threshold is not None else policy.threshold
    if before_mode == mode and before_threshold == new_threshold:
        return None
    with transaction.atomic():
        policy.mode, policy.threshold = mode, new_threshold
        policy.save()
        figures = readiness or policy_readiness(policy=policy)
        return PolicyAudit.objects.create(
            policy=policy,
            user=user,
            actor=actor[:150],
            mode_before=before_mode,
            mode_after=mode,
            threshold_before=before_threshold,
            threshold_after=new_threshold,
            readiness=figures.as_dict(),
            override_reason=override_reason.strip() if readiness is not None and not readiness.ready else "",
        )


def reply_template_changed(*, template: ReplyTemplate) -> None:
    """The template's wording changed: readiness of its policies counts only replies made from now on."""
    ReplyTemplate.objects.filter(pk=template.pk).update(changed_at=timezone.now())


def policy_template_changed(*, policy: AutoReplyPolicy) -> None:
    """The policy now uses another template: its readiness counts only replies made from now on."""
    AutoReplyPolicy.objects.filter(pk=policy.pk).update(template_changed_at=timezone.now())
