"""Import reference labels for backtests from a CSV file: conversation, intent, sub_intent."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classification.services.labels import LabelFileError, labels_csv_read, labels_import

SHOW_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import reference labels for backtests from a CSV file with the columns conversation (the "
        "Kustomer conversation id), intent and sub_intent (optional). A conversation imported again "
        "takes its new label; an imported label wins over a contact reason and a triage review. Rows "
        "with an unknown conversation or intent are reported by line and not imported."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            rows = labels_csv_read(file)
        except LabelFileError as exc:
            raise CommandError(str(exc)) from exc
        report = labels_import(rows=rows, source=file.name)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.imported} of {report.rows} labels from {file.name}: {report.created} new, "
                f"{report.updated} changed, {report.unchanged} already there."
            )
        )
        if report.errors:
            self.stdout.write(self.style.WARNING(f"Not imported: {len(report.errors)} row(s):"))
            for line, why in report.errors[:SHOW_ERRORS]:
                self.stdout.write(f"  line {line}: {why}")
            if len(report.errors) > SHOW_ERRORS:
                self.stdout.write(f"  and {len(report.errors) - SHOW_ERRORS} more")
