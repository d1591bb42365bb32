"""Serve the local Kustomer sandbox until Ctrl-C."""

from django.core.management.base import BaseCommand, CommandError

from kustomer.sandbox import SandboxServer
from kustomer.sandbox.traffic import FaultRule


class Command(BaseCommand):
    help = (
        "Run the local Kustomer sandbox: a development and test tool that emulates the part of "
        "Kustomer's API BearScope uses, with sample data, fault injection and a control API under "
        "/_sandbox/. It is not Kustomer and talks to no Kustomer org."
    )
    # The sandbox needs neither the database nor the project's apps; a broken app must not stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8100, help="Port (default 8100; 0 picks a free one).")
        parser.add_argument(
            "--api-key", default="", help="Accept only this Bearer key (default: any non-empty key)."
        )
        parser.add_argument(
            "--org", default="", help="Org id used in webhooks (default: the seed's, sandbox-org)."
        )
        parser.add_argument(
            "--machine-user", default="machine-user-0001", help="Id of the API key's machine user."
        )
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=1000,
            help="Org-wide requests per minute before 429 (default 1000).",
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="Delay added to every /v1/ answer.")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="STATUS:COUNT[:PATH_REGEX]",
            help="Answer the next COUNT matching requests with STATUS (429, 500, 502, 503, 504). Repeatable.",
        )
        parser.add_argument(
            "--reset-epoch",
            action="store_true",
            help="Send x-ratelimit-reset as epoch seconds, not seconds left.",
        )
        parser.add_argument(
            "--retry-after", action="store_true", help="Send Retry-After with the budget's 429s."
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="N",
            help="Also seed N past conversations over the last 90 days, with labels (default 0: none).",
        )

    def handle(
        self,
        *args,
        host,
        port,
        api_key,
        org,
        machine_user,
        rate_limit,
        latency_ms,
        fault,
        reset_epoch,
        retry_after,
        history,
        verbosity,
        **options,
    ):
        try:
            faults = [FaultRule.from_spec(spec) for spec in fault]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if history < 0:
            raise CommandError("--history must be 0 or more.")
        try:
            server = SandboxServer(
                host=host,
                port=port,
                api_key=api_key or None,
                org=org or None,
                machine_user_id=machine_user,
                rate_limit=rate_limit,
                latency_ms=latency_ms,
                faults=faults,
                reset_epoch=reset_epoch,
                retry_after=retry_after,
                history=history,
                verbose=verbosity >= 2,
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(
            f"Kustomer sandbox (a development tool, not Kustomer) on {server.base_url} "
            f"- control API at {server.base_url}/_sandbox/ - Ctrl-C to stop"
        )
        self.stdout.flush()
        try:
            server.join()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
