"""Write a backtest's per-conversation rows to a CSV file."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bearscope.csvsafe import cell_safe
from intelligence.backtests.pages import EXPORT_COLUMNS, export_rows
from intelligence.models import Backtest


class Command(BaseCommand):
    help = (
        "Write a backtest's conversations to a CSV file: conversation, predicted_intent, "
        "predicted_sub_intent, confidence, route, label_intent, label_sub_intent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument("file", type=Path)

    def handle(self, *args, run_id: int, file: Path, **options) -> None:
        backtest = Backtest.objects.filter(pk=run_id).first()
        if backtest is None:
            raise CommandError(f"No backtest {run_id}: see the list at /backtests/.")
        count = 0
        try:
            with file.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(EXPORT_COLUMNS)
                for row in export_rows(backtest=backtest):
                    writer.writerow([cell_safe(value) for value in row])
                    count += 1
        except OSError as exc:
            raise CommandError(f"Cannot write {file}: {exc.strerror}") from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} conversations of backtest {run_id} to {file}."))
