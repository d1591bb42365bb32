"""Generate realistic synthetic resolved history for demos and benchmarks."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classification.models import Intent
from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read
from intelligence.progress import ProgressBar
from intelligence.rollups import rollup_refresh_all
from intelligence.synthetic import history_synthesize


class Command(BaseCommand):
    help = (
        "Create N resolved conversations with classifications, triage reviews and analyses spread "
        "over the last --days days (bulk inserts in batches), then rebuild the dashboard rollups. "
        "Loads the default taxonomy first when there is none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, required=True, help="How many (e.g. 1000000).")
        parser.add_argument("--days", type=int, default=365, help="Spread over this many past days.")
        parser.add_argument("--seed", type=int, default=1, help="Another seed adds a different history.")
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per bulk insert.")
        parser.add_argument(
            "--messages", action="store_true", help="Also a customer message and a reply each."
        )

    def handle(self, *args, **options) -> None:
        count = options["conversations"]
        if count < 1 or options["days"] < 1 or options["batch_size"] < 1:
            raise CommandError("--conversations, --days and --batch-size must be positive.")
        if not Intent.objects.filter(parent__isnull=True, active=True).exists():
            taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))
            self.stdout.write("No intents yet: loaded the default e-commerce taxonomy.")
        bar = ProgressBar(count, "Conversations", self.stderr)
        try:
            made = history_synthesize(
                conversations=count,
                days=options["days"],
                seed=options["seed"],
                batch_size=options["batch_size"],
                with_messages=options["messages"],
                progress=bar.advance,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write("Rebuilding the dashboard rollups...")
        days = rollup_refresh_all()
        self.stdout.write(
            self.style.SUCCESS(f"Created {made} conversations; rollups rebuilt for {days} days.")
        )
