"""Run the whole product locally: sandbox, web server, a qcluster per lane, the samples replayed."""

import json
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string

from bearscope.lanes import BACKGROUND, CLUSTERS
from bearscope.queue import tasks_waiting

# The apps are reached by name: this floor imports none of them.
EVENT_COUNTS = "kustomer.selectors.event_counts"
CONVERSATION_SPAN = "kustomer.selectors.conversation_span"
ROUTING_COUNTS = "classification.selectors.routing_counts"
CLASSIFIER_IN_USE = "classification.selectors.classifier_in_use"
DECISION_COUNTS = "autoreply.selectors.decision_counts"

DEMO_DIR = settings.BASE_DIR / ".demo"
SIGN_IN_FILE = DEMO_DIR / "sign-in.txt"
HISTORY_DAYS = 91  # the sandbox spreads its history over the last 90 days


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass
class Demo:
    """What the steps share: where things run, and the summary lines they add."""

    web_url: str
    sandbox_url: str
    secret: str
    quiet_seconds: str
    history: int = 0
    env: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.web_url}/webhooks/kustomer/"


class Command(BaseCommand):
    help = (
        "Set up and run BearScope locally on SQLite: migrate, create an admin login, start the Kustomer "
        "sandbox, the web server and a qcluster per queue lane (their output goes to .demo/*.log), "
        "replay sample conversations as signed webhooks, print a summary and the sign-in details, and wait. "
        "Ctrl-C stops everything it started; --credentials prints the sign-in details again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument(
            "--sandbox-port", type=int, default=8100, help="Kustomer sandbox port (default 8100)"
        )
        parser.add_argument("--username", default="admin", help="admin login to create (default admin)")
        parser.add_argument(
            "--exit-after-replay",
            action="store_true",
            help="stop once the replayed events are processed (smoke test)",
        )
        parser.add_argument(
            "--history",
            type=int,
            default=1200,
            metavar="N",
            help="past conversations the sandbox holds, imported as history and backtested (default 1200; "
            "0: none)",
        )
        parser.add_argument(
            "--credentials",
            action="store_true",
            help="print the sign-in details of the running (or last) demo and exit",
        )

    def handle(
        self,
        *args,
        port: int,
        sandbox_port: int,
        username: str,
        exit_after_replay: bool,
        credentials: bool,
        history: int,
        **options,
    ) -> None:
        if credentials:
            if not SIGN_IN_FILE.exists():
                raise CommandError("No demo has run here yet: start one with `make demo`.")
            self.stdout.write(SIGN_IN_FILE.read_text())
            return
        for p in (port, sandbox_port):
            if not _port_free(p):
                raise CommandError(
                    f"Port {p} is in use. Stop what runs there or pick another with --port/--sandbox-port."
                )
        self.children: dict[str, tuple[subprocess.Popen, Path]] = {}
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            self._run(port, sandbox_port, username, exit_after_replay, history)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping...")
        finally:
            self._stop_children()

    def _run(
        self, port: int, sandbox_port: int, username: str, exit_after_replay: bool, history: int
    ) -> None:
        self.stdout.write("Migrating the database...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("bearscope_setup", starter="ecommerce", stdout=self.stdout)
        self._local_classifier()
        password = self._admin_login(username)

        demo = Demo(
            web_url=f"http://127.0.0.1:{port}",
            sandbox_url=f"http://127.0.0.1:{sandbox_port}",
            # Fresh per run: the sandbox signs with the secret and accepts only this key.
            secret=secrets.token_hex(16),
            # The sample resolved conversations are analysed within a minute or two, not ten.
            quiet_seconds=os.environ.get("INSIGHTS_QUIET_PERIOD_SECONDS", "30"),
            history=history,
        )
        self._start_processes(demo, sandbox_port, port)
        # Each step works on the running product and adds its lines to the summary.
        steps: list[Callable[[Demo], None]] = [self._replay, self._history]
        for step in steps:
            step(demo)

        self.stdout.write(self.style.SUCCESS("\nBearScope is running. What the sample conversations did:"))
        for line in demo.summary:
            self.stdout.write(f"  {line}")
        self._links(demo)
        sign_in = self._sign_in_text(demo, username, password)
        DEMO_DIR.mkdir(exist_ok=True)
        # Readable by this user only: it holds the admin's password.
        with os.fdopen(os.open(SIGN_IN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(sign_in)
        self.stdout.write("\n" + sign_in, ending="")
        if exit_after_replay:
            return
        self._wait(sign_in)

    def _start_processes(self, demo: Demo, sandbox_port: int, port: int) -> None:
        api_key = secrets.token_hex(16)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bearscope.settings.local"),
            "KUSTOMER_WEBHOOK_SECRET": demo.secret,
            "KUSTOMER_API_BASE_URL": demo.sandbox_url,
            "KUSTOMER_API_KEY": api_key,
            "PYTHONUNBUFFERED": "1",
            "INSIGHTS_QUIET_PERIOD_SECONDS": demo.quiet_seconds,
        }
        demo.env = env
        history = ["--history", str(demo.history)]
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        DEMO_DIR.mkdir(exist_ok=True)
        self._start(
            "Kustomer sandbox",
            "sandbox",
            [*manage, "kustomer_sandbox", "--port", str(sandbox_port), "--api-key", api_key, *history],
            env,
        )
        self._start("web server", "web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env)
        for lane, cluster in CLUSTERS.items():
            # A qcluster per lane, as deployed (docs/operations.md#lanes); the plain one is background.
            lane_env = env if lane == BACKGROUND else {**env, "Q_CLUSTER_NAME": cluster}
            log = "qcluster" if lane == BACKGROUND else f"qcluster-{lane}"
            self._start(f"qcluster ({lane} lane)", log, [*manage, "qcluster"], lane_env)
        self._wait_for(f"{demo.sandbox_url}/_sandbox/stats", "Kustomer sandbox")
        self._wait_for(f"{demo.web_url}/healthz", "web server")
        requests.post(
            f"{demo.sandbox_url}/_sandbox/webhooks",
            json={"url": demo.webhook_url, "secret": demo.secret},
            timeout=10,
        )

    def _replay(self, demo: Demo) -> None:
        """Replay the sample conversations as signed webhooks and wait until all is decided."""
        self.stdout.write("Replaying sample conversations as signed webhooks...")
        result = requests.post(
            f"{demo.sandbox_url}/_sandbox/replay",
            json={"url": demo.webhook_url, "secret": demo.secret},
            timeout=600,
        ).json()
        self.stdout.write(f"  delivered {result['delivered']} events, {result['failed']} failed")
        self._wait_processed()
        events = import_string(EVENT_COUNTS)()
        routing = import_string(ROUTING_COUNTS)()
        decisions = import_string(DECISION_COUNTS)()
        demo.summary += [
            f"{sum(events.values())} webhook events stored: {events['processed']} processed, "
            f"{events['ignored']} ignored (nothing to do, or our own write-back), {events['failed']} failed",
            f"{routing.classified} classified: {routing.auto} routed automatically, "
            f"{routing.triage} in triage; {routing.written} written back to Kustomer",
            f"auto-reply: {_plural(decisions.shadow, 'shadow reply', 'shadow replies')} to grade, "
            f"{decisions.guardrail_blocked} blocked by a guardrail, "
            f"{decisions.no_policy} with no policy for their intent, {decisions.in_triage} left to "
            "triage; none sent (the starter policy is in shadow mode)",
        ]

    def _history(self, demo: Demo) -> None:
        """The team's history imported (never classified by itself), labelled, and backtested on."""
        if not demo.history:
            return
        since = (timezone.now().date() - timedelta(days=HISTORY_DAYS)).isoformat()
        self.stdout.write(f"Importing the sandbox's {demo.history} past conversations as history...")
        imported = self._manage(demo, "kustomer_import", "--since", since, "--budget-share", "1")
        copied = re.search(r"Conversations: (\d+) imported.*?Messages: (\d+) imported", imported, re.S)
        if copied is None:
            raise CommandError(f"The history import said nothing of what it copied:\n{imported}")
        labels = DEMO_DIR / "history-labels.csv"
        answer = requests.get(f"{demo.sandbox_url}/_sandbox/history/labels.csv", timeout=60)
        answer.raise_for_status()
        labels.write_bytes(answer.content)
        self._manage(demo, "backtest_labels_import", str(labels))
        self.stdout.write("Backtesting the local classifier on the imported history...")
        out = self._manage(
            demo, "backtest_run", "--since", since, "--provider", "local", "--json",
            "--name", "Demo: the local classifier on the imported history",
        )  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        demo.summary += [
            f"history: {copied[1]} past conversations ({copied[2]} messages) imported as history: never "
            "classified or answered by themselves",
            f"backtest of the local classifier on {result['conversations']} conversations, "
            f"{result['labelled']} with the team's own label: {result['accuracy']:.1%} of intents right; "
            f"{result['auto_share']:.0%} would have routed automatically, {result['auto_accuracy']:.1%} of "
            f"those right; ECE {result['ece']:.3f}: {demo.web_url}/backtests/{result['run_id']}/",
        ]

    def _manage(self, demo: Demo, *command: str) -> str:
        """Run a product command against the demo's sandbox; its output, or a CommandError with it."""
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        done = subprocess.run(
            [*manage, *command], env=demo.env, capture_output=True, text=True, timeout=1800, check=False
        )
        if done.returncode != 0:
            raise CommandError(f"`manage.py {' '.join(command)}` failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def _links(self, demo: Demo) -> None:
        web = demo.web_url
        span = import_string(CONVERSATION_SPAN)()
        # Insights open on a range that holds every sample conversation, the oldest included.
        query = (
            f"?{urlencode({'start': span[0].isoformat(), 'end': timezone.now().date().isoformat()})}"
            if span
            else ""
        )
        self.stdout.write(f"\n  Home:             {web}/")
        self.stdout.write(f"  Triage queue:     {web}/triage/  quality report {web}/triage/quality/")
        self.stdout.write(f"  Shadow replies:   {web}/autoreply/shadow/")
        self.stdout.write(f"  Backtests:        {web}/backtests/")
        self.stdout.write(
            f"  Insights:         {web}/insights/{query}\n"
            f"                    (resolved conversations appear within about five minutes: a "
            f"{demo.quiet_seconds} s quiet period, then the rollup refresh)"
        )
        self.stdout.write(f"  Webhook:          {demo.webhook_url}")
        self.stdout.write(f"  Health:           {web}/healthz  {web}/readyz")
        self.stdout.write(
            f"  Kustomer sandbox: {demo.sandbox_url}/_sandbox/stats  (a local stand-in, not Kustomer)"
        )
        logs = "  ".join(str(log.relative_to(settings.BASE_DIR)) for _, log in self.children.values())
        self.stdout.write(f"  Logs:             {logs}")

    def _sign_in_text(self, demo: Demo, username: str, password: str) -> str:
        return (
            f"Sign in at {demo.web_url}/accounts/login/\n"
            f"  username: {username}\n"
            f"  password: {password}\n"
            f"(the admin is at {demo.web_url}/admin/; `manage.py demo --credentials` prints this again)\n"
        )

    def _wait(self, sign_in: str) -> None:
        """Until Ctrl-C or a child dies; Enter prints the sign-in details again."""
        interactive = sys.stdin.isatty()
        self.stdout.write(
            "Press Enter to show the sign-in details again, Ctrl-C to stop everything."
            if interactive
            else "Press Ctrl-C to stop everything."
        )
        while all(child.poll() is None for child, _ in self.children.values()):
            if interactive and select.select([sys.stdin], [], [], 1)[0]:
                sys.stdin.readline()
                self.stdout.write(sign_in, ending="")
            elif not interactive:
                time.sleep(1)
        dead = [label for label, (child, _) in self.children.items() if child.poll() is not None]
        raise CommandError(f"The {', '.join(dead)} stopped unexpectedly.\n{self._log_tails(dead)}")

    def _local_classifier(self) -> None:
        """Train the local classifier on the taxonomy's example messages and say which classifier runs."""
        self.stdout.write("Training the local classifier on the taxonomy's example messages...")
        try:
            # A no-op when the examples have not changed since the active version.
            call_command("classifier_train", trained_by="demo", stdout=self.stdout)
        except CommandError as exc:
            self.stdout.write(self.style.WARNING(f"  not trained: {exc}"))
        line, usable = import_string(CLASSIFIER_IN_USE)()
        style = self.style.SUCCESS if usable else self.style.WARNING
        self.stdout.write(style(f"Classifier: {line}."))

    def _admin_login(self, username: str) -> str:
        """Create the admin (or give it a new password) and return the password to print."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password

    def _start(self, label: str, name: str, command: list[str], env: dict) -> None:
        log = DEMO_DIR / f"{name}.log"
        self.stdout.write(f"Starting the {label} (output in {log.relative_to(settings.BASE_DIR)})...")
        # Own session: Ctrl-C reaches only us, and we stop each child's whole process group. Its
        # routine lines (every request, every task) go to the log, not the terminal.
        with log.open("w") as out:
            child = subprocess.Popen(command, env=env, start_new_session=True, stdout=out, stderr=out)
        self.children[label] = (child, log)

    def _log_tails(self, labels: list[str], lines: int = 15) -> str:
        tails = []
        for label in labels:
            _, log = self.children[label]
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            tails.append(f"--- the end of {log.relative_to(settings.BASE_DIR)} ---\n{tail}")
        return "\n".join(tails)

    def _wait_for(self, url: str, label: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, (child, _) in self.children.items() if child.poll() is not None]
            if dead:
                raise CommandError(
                    f"The {', '.join(dead)} exited while waiting for the {label}.\n{self._log_tails(dead)}"
                )
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise CommandError(
            f"The {label} did not answer at {url} within {timeout:.0f} s.\n{self._log_tails([label])}"
        )

    def _wait_processed(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout

        def wait_until(done) -> None:
            while not done() and time.monotonic() < deadline:
                time.sleep(0.5)

        # Each lane has its own queue: wait until every one is empty, not only the event lane's.
        wait_until(lambda: import_string(EVENT_COUNTS)()["received"] == 0 and tasks_waiting() == 0)
        wait_until(lambda: import_string(ROUTING_COUNTS)().unfinished == 0)
        wait_until(lambda: import_string(DECISION_COUNTS)().undecided == 0)

    def _stop_children(self) -> None:
        for child, _ in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child, _ in self.children.values():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        if self.children:
            self.stdout.write("Stopped the sandbox, web server and qclusters.")
