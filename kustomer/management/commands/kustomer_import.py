"""Copy past conversations, their messages and customers from Kustomer into the mirror, as history."""

import getpass
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from kustomer.history_import import (
    ImportRefused,
    history_import_run,
    import_run_claim,
    import_run_get_or_create,
    import_summary,
)
from kustomer.models import ImportRun


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Dates are written like 2026-01-31, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Copy conversations updated from --since to --until (UTC days; default: up to now) with their "
        "messages and customers into BearScope, as history: nothing is classified, written back or "
        "replied to. Uses at most --budget-share of the org's Kustomer request budget. Stopped (Ctrl-C, "
        "--limit) it resumes when run again over the same range; a finished range run again copies "
        "nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="YYYY-MM-DD: the first day (UTC).")
        parser.add_argument("--until", help="YYYY-MM-DD: the last day (UTC); default: up to now.")
        parser.add_argument(
            "--budget-share",
            type=float,
            default=0.5,
            help="Largest share of the org's request budget to use, above 0 and at most 1 (default 0.5).",
        )
        parser.add_argument(
            "--limit", type=int, help="Stop after this many conversations (run again to go on)."
        )

    def handle(self, *args, **options) -> None:
        since = _day(options["since"])
        until = _day(options["until"]) if options["until"] else None
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        run = None
        try:
            run = import_run_get_or_create(
                since=since, until=until, share=options["budget_share"], started_by=_who()
            )
            resumed = run.status != ImportRun.Status.QUEUED
            run = import_run_claim(run=run)
            if run.status == ImportRun.Status.DONE:
                self.stdout.write(f"{run} is done already.")
                return
            verb = "Resuming" if resumed else "Starting"
            self.stdout.write(f"{verb} {run}, using at most {run.budget_share:.0%} of the Kustomer budget.")
            run = self._run(run, limit)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            if run is not None:
                run.refresh_from_db()
                self.stdout.write(f"\nStopped. {import_summary(run)}")
            raise CommandError("Interrupted: run the same command again to resume.") from None
        self.stdout.write(import_summary(run))
        if run.status == ImportRun.Status.DONE:
            self.stdout.write(self.style.SUCCESS(f"Done: {run}."))
        else:
            self.stdout.write(f"Stopped after {limit} conversations: run the same command again to go on.")

    def _run(self, run: ImportRun, limit: int | None) -> ImportRun:
        done = run.conversations_imported + run.conversations_updated + run.conversations_present
        bar = tqdm(
            total=run.found,
            initial=done,
            unit="conversation",
            desc="Importing",
            file=self.stderr._out,
            dynamic_ncols=True,
            disable=None,
        )

        def advance(current: ImportRun) -> None:
            if bar.total is None and current.found is not None:
                bar.total = max(current.found, done)
            bar.update(1)

        try:
            return history_import_run(run=run, limit=limit, on_conversation=advance)
        finally:
            bar.close()


def _who() -> str:
    try:
        return f"kustomer_import ({getpass.getuser()})"
    except (KeyError, OSError):
        return "kustomer_import"
