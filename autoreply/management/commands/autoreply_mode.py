"""Switch an intent's auto-reply mode (and threshold) from the command line, with the admin's rules."""

from django.core.management.base import BaseCommand, CommandError

from autoreply.models import AutoReplyPolicy, Mode
from autoreply.services.modes import ModeChangeError, ReadinessNotMet, policy_mode_set, threshold_parse


class Command(BaseCommand):
    help = (
        "Set the auto-reply mode of INTENT_KEY's policy: off, shadow, draft or live. Live is refused until "
        "the intent's shadow replies pass the readiness bar (the Wilson lower bound of their approval rate, "
        "counting replies made since the template last changed), unless --override-reason says why; every "
        "change is kept in the policy audit log."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("intent_key")
        parser.add_argument("mode", choices=Mode.values)
        parser.add_argument(
            "--sub-intent", default="", help="the sub-intent's key, for a sub-intent's policy"
        )
        parser.add_argument("--threshold", default=None, help="confidence threshold from 0 to 1")
        parser.add_argument("--override-reason", default="", help="why live may go ahead below the bar")

    def handle(
        self,
        *args,
        intent_key: str,
        mode: str,
        sub_intent: str,
        threshold: str | None,
        override_reason: str,
        **options,
    ) -> None:
        policies = AutoReplyPolicy.objects.select_related("intent", "sub_intent").filter(
            intent__key=intent_key, intent__parent__isnull=True
        )
        policies = policies.filter(sub_intent__key=sub_intent) if sub_intent else policies
        found = list(policies)
        if not found:
            raise CommandError(
                f"No auto-reply policy for {intent_key}{' / ' + sub_intent if sub_intent else ''}. "
                "Create it in the admin (Auto-reply, Auto-reply policies) first."
            )
        if len(found) > 1:
            keys = ", ".join(p.sub_intent.key for p in found if p.sub_intent_id) or "-"
            raise CommandError(f"{intent_key} has several policies; pick one with --sub-intent ({keys}).")
        policy = found[0]
        try:
            audit = policy_mode_set(
                policy=policy,
                mode=mode,
                threshold=threshold_parse(threshold),
                actor="manage.py autoreply_mode",
                override_reason=override_reason,
            )
        except (ModeChangeError, ReadinessNotMet) as exc:
            raise CommandError(str(exc)) from exc
        if audit is None:
            self.stdout.write(
                f"{policy} is already {policy.mode} at threshold {policy.threshold}; nothing changed."
            )
            return
        override = f" (override: {audit.override_reason})" if audit.override_reason else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{policy}: {audit.mode_before} → {audit.mode_after}, "
                f"threshold {audit.threshold_after}{override}."
            )
        )
