"""Connect BearScope to a Kustomer org in one command, or only check the connection (--check)."""

import textwrap

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kustomer.connection import ConnectionReport, Status, connection_check, webhook_url_problem

WIDTH = 100
LABEL = 10  # the status column


class Command(BaseCommand):
    help = (
        "Check the API key and each role BearScope needs, create the custom attributes it writes on "
        "conversations, and register its webhook (an existing one for the URL is reused, never changed). "
        "--check writes nothing to Kustomer and exits 1 when anything is missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--webhook-url",
            required=True,
            help="Where Kustomer sends events: https://HOST/webhooks/kustomer/ as seen from outside.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only look: write nothing to Kustomer; exit 1 if anything is missing.",
        )

    def handle(self, *args, webhook_url: str, check: bool, **options) -> None:
        if problem := webhook_url_problem(webhook_url):
            raise CommandError(problem)
        report = connection_check(webhook_url=webhook_url, fix=not check)
        mode = "check only: nothing is written to Kustomer" if check else "connect: fixes what is missing"
        self.stdout.write(f"Kustomer {report.base_url}, webhook {webhook_url} ({mode})")
        self._checklist(report)
        self._token(report)
        self._last_event(report)
        problems = report.problems(strict=check)
        if problems:
            counts = {status: sum(p.status == status for p in problems) for status in Status}
            summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
            raise CommandError(f"Not connected yet: {summary}. Do what each line says, then run this again.")
        todo = len(report.problems())
        if check:
            done = "Everything BearScope needs is in place."
        else:
            done = f"Connected; {todo} thing(s) to do, above." if todo else "Connected."
        self.stdout.write(self.style.SUCCESS(done))

    def _checklist(self, report: ConnectionReport) -> None:
        styles = {
            Status.OK: self.style.SUCCESS,
            Status.TODO: self.style.WARNING,
            Status.MISSING: self.style.ERROR,
            Status.REFUSED: self.style.ERROR,
            Status.FAILED: self.style.ERROR,
        }
        section = None
        for check in report.checks:
            if check.section != section:
                section = check.section
                self.stdout.write(f"\n{section}")
            text = f"{check.item}: {check.detail}" + (f" -> {check.fix}" if check.fix else "")
            lines = textwrap.wrap(text, WIDTH - LABEL - 2) or [""]
            label = styles[check.status](check.status.upper().ljust(LABEL))
            self.stdout.write(f"  {label}{lines[0]}")
            for line in lines[1:]:
                self.stdout.write(" " * (LABEL + 2) + line)

    def _token(self, report: ConnectionReport) -> None:
        if report.token_is_new:
            self.stdout.write(f"\nPut this token in KUSTOMER_WEBHOOK_SECRET: {report.token}")
        elif report.token:
            self.stdout.write(f"\nThe subscription's token (KUSTOMER_WEBHOOK_SECRET): {report.token}")
        elif report.subscription_id:
            self.stdout.write(
                "\nKustomer does not show an existing subscription's token: KUSTOMER_WEBHOOK_SECRET must be "
                "the token it answered when the subscription was made (to get a new one, delete the "
                "subscription in Kustomer and run this command again)."
            )

    def _last_event(self, report: ConnectionReport) -> None:
        event = report.last_event
        if event is None:
            self.stdout.write("Last webhook received: none yet.\n")
            return
        when = timezone.localtime(event.received_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        self.stdout.write(f"Last webhook received: {event.name} at {when} ({event.get_status_display()}).\n")
