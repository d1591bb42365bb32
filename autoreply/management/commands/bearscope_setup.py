"""Load a starter configuration: taxonomy, a WISMO auto-reply policy in shadow mode, the order mapping."""

from django.core.management.base import BaseCommand, CommandError

from autoreply.starter import STARTERS, StarterError, starter_load
from classification.taxonomy import DEFAULT_TAXONOMY, TaxonomyFileError


class Command(BaseCommand):
    help = (
        "Load a starter configuration. ecommerce: the default e-commerce taxonomy, a “where is my order” "
        "reply template, its policy in shadow mode (an existing policy keeps its mode), the order data "
        "mapping for Klass `order`, and the auto-reply switch on. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--starter", required=True, choices=sorted(STARTERS))

    def handle(self, *args, starter: str, **options) -> None:
        try:
            loaded = starter_load(starter=starter)
        except (StarterError, TaxonomyFileError) as exc:
            raise CommandError(str(exc)) from exc
        policy = loaded["policy"]
        counts = {k: v for k, v in loaded.items() if k not in ("policy", "policy_created")}
        self.stdout.write(
            self.style.SUCCESS(
                "Loaded "
                + ", ".join(f"{n} {what.replace('_', '-')}" for what, n in counts.items())
                + f" from {DEFAULT_TAXONOMY.name}."
            )
        )
        kept = "" if loaded["policy_created"] else " (kept as it was)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Auto-reply: switch on; policy {policy} is {policy.mode}{kept}, template "
                f"“{policy.template.name}”; orders are read from Klass `order`."
            )
        )
