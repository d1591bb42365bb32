"""Load a taxonomy file into the admin (default: the e-commerce taxonomy built from ABCD)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classification.taxonomy import DEFAULT_TAXONOMY, TaxonomyFileError, taxonomy_load, taxonomy_read


class Command(BaseCommand):
    help = (
        "Load intents, sub-intents, priority and complexity levels and business rules from a JSON file. "
        "Rows are created or updated by key; nothing is deleted. Without FILE, loads the default "
        "e-commerce taxonomy (built from the ABCD dataset, MIT)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_TAXONOMY)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            counts = taxonomy_load(data=taxonomy_read(file))
        except TaxonomyFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                "Loaded "
                + ", ".join(f"{n} {what.replace('_', '-')}" for what, n in counts.items())
                + f" from {file.name}."
            )
        )
