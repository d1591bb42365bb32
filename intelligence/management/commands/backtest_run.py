"""Replay a classifier configuration over past conversations and print its report."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from bearscope.llm import LlmError
from intelligence.backtests.running import BacktestError, backtest_create, backtest_run
from intelligence.models import Backtest
from intelligence.progress import ProgressBar

JSON_KEYS = (
    "conversations",
    "labelled",
    "accuracy",
    "sub_intent_accuracy",
    "auto_share",
    "auto_accuracy",
    "ece",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


class Command(BaseCommand):
    help = (
        "Replay the classifier (local, claude or cascade, with the current taxonomy, prompt and "
        "thresholds) over past conversations in BearScope's copy, and report accuracy against the "
        "reference labels, the share routed automatically, calibration and cost. Nothing is written "
        "to Kustomer and the live classifications are not touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--until", help="Last day, YYYY-MM-DD (default: today).")
        parser.add_argument("--provider", choices=Backtest.Provider.values, default=Backtest.Provider.LOCAL)
        parser.add_argument("--limit", type=int, help="At most this many conversations (the oldest first).")
        parser.add_argument("--name", default="", help="A name to find it by on the backtests page.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a summary.")
        parser.add_argument("--no-batch", action="store_true", help="Call Claude directly (full price).")
        parser.add_argument("--poll-seconds", type=float, default=5, help="How often to ask about a batch.")

    def handle(self, *args, **options) -> None:
        since = _day(options["since"])
        until = _day(options["until"]) if options["until"] else None
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            backtest = backtest_create(
                provider=options["provider"],
                since=since,
                until=until,
                limit=options["limit"],
                name=options["name"],
                batch=not options["no_batch"],
            )
        except BacktestError as exc:
            raise CommandError(str(exc)) from exc
        bar: list[ProgressBar] = []

        def progress(done: int, total: int) -> None:
            if not bar:
                bar.append(ProgressBar(total, "Backtest", self.stderr))
            bar[0].advance(done - bar[0].done)

        try:
            backtest = backtest_run(
                backtest_pk=backtest.pk, progress=progress, poll_seconds=options["poll_seconds"]
            )
        except (BacktestError, LlmError) as exc:
            raise CommandError(f"The backtest stopped: {exc}") from exc
        finally:
            if bar:
                bar[0].close()
        self._print(backtest, as_json=options["json"])

    def _print(self, backtest: Backtest, *, as_json: bool) -> None:
        report = backtest.report
        if as_json:
            data = {"run_id": backtest.pk, **{key: report.get(key) for key in JSON_KEYS}}
            data["seconds"] = round(backtest.seconds or 0, 2)
            self.stdout.write(json.dumps(data))
            return
        if not report["conversations"]:
            self.stdout.write(
                self.style.WARNING(
                    "No past conversations in that range: import the history first "
                    "(manage.py kustomer_import)."
                )
            )
        self.stdout.write(
            f"Backtest {backtest.pk} ({backtest}): {report['conversations']} conversations, "
            f"{report['labelled']} with a reference label, in {backtest.seconds or 0:.1f} s."
        )
        if not report["labelled"]:
            self.stdout.write(
                self.style.WARNING(
                    "No reference labels: accuracy cannot be measured. Map a contact reason in the admin, "
                    "review in triage, or import labels (manage.py backtest_labels_import)."
                )
            )
        self.stdout.write(
            f"Intent accuracy {_pct(report['accuracy'])} of {report['labelled']}; sub-intent "
            f"{_pct(report['sub_intent_accuracy'])} of {report['sub_intent_labelled']}.\n"
            f"Routed automatically {_pct(report['auto_share'])}, right {_pct(report['auto_accuracy'])} "
            f"of {report['auto_labelled']} labelled.\n"
            f"Calibration error (ECE) {report['ece'] if report['ece'] is not None else 'n/a'}; "
            f"cost ${report['cost_usd']:.4f} ({report['input_tokens']} input, "
            f"{report['output_tokens']} output, "
            f"{report['cache_read_tokens']} cache-read tokens)."
        )
        self.stdout.write(f"Details: /backtests/{backtest.pk}/")
