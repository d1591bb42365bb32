"""Import labelled customer messages from a CSV file to train the local classifier on."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classification.local.model import LABEL_COLUMNS, TEXT_COLUMNS, LocalModelError, labelled_csv_read
from classification.local.services import labelled_examples_import

SHOW_LINES = 10


class Command(BaseCommand):
    help = (
        f"Import labelled messages from a CSV file: a text column ({', '.join(TEXT_COLUMNS)}) and a label "
        f"column ({', '.join(LABEL_COLUMNS)}) holding an intent key or intent/sub_intent (or an intent "
        "column and a sub_intent column). A text imported again takes its new label. Rows whose label "
        "is not in the taxonomy are reported and not imported. Train with classifier_train afterwards."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            rows = labelled_csv_read(file)
        except LocalModelError as exc:
            raise CommandError(str(exc)) from exc
        report = labelled_examples_import(rows=rows, source=file.name)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.imported} of {len(rows)} rows from {file.name}: {report.created} new, "
                f"{report.updated} relabelled, {report.unchanged} already there."
            )
        )
        if report.unknown:
            unknown_rows = sum(report.unknown.values())
            self.stdout.write(
                self.style.WARNING(
                    f"Not imported: {unknown_rows} row(s) with {len(report.unknown)} label(s) not in the "
                    "taxonomy (add the intents in the admin, or fix the labels, and import again):"
                )
            )
            for label, count in report.unknown.most_common():
                self.stdout.write(f"  {label!r}: {count} row(s)")
            self.stdout.write(f"  lines: {_lines(report.unknown_lines)}")
        if report.empty_lines:
            self.stdout.write(
                self.style.WARNING(
                    f"Not imported: {len(report.empty_lines)} row(s) with an empty text or label, "
                    f"lines: {_lines(report.empty_lines)}"
                )
            )


def _lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:SHOW_LINES])
    return shown + (f" and {len(lines) - SHOW_LINES} more" if len(lines) > SHOW_LINES else "")
