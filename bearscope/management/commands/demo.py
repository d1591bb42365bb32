"""Run the whole product locally: sandbox, web server, qcluster, and sample conversations replayed."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from bearscope.lanes import BACKGROUND, CLUSTERS
from bearscope.queue import tasks_waiting

# The apps are reached by name: this floor imports none of them.
EVENT_COUNTS = "kustomer.selectors.event_counts"
ROUTING_COUNTS = "classification.selectors.routing_counts"
CLASSIFIER_IN_USE = "classification.selectors.classifier_in_use"
DECISION_COUNTS = "autoreply.selectors.decision_counts"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Command(BaseCommand):
    help = (
        "Set up and run BearScope locally on SQLite: migrate, create an admin login, start the Kustomer "
        "sandbox, the web server and a qcluster, replay sample conversations as signed webhooks, and "
        "wait. Ctrl-C stops everything it started."
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

    def handle(
        self, *args, port: int, sandbox_port: int, username: str, exit_after_replay: bool, **options
    ) -> None:
        for p in (port, sandbox_port):
            if not _port_free(p):
                raise CommandError(
                    f"Port {p} is in use. Stop what runs there or pick another with --port/--sandbox-port."
                )
        self.children: dict[str, subprocess.Popen] = {}
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            self._run(port, sandbox_port, username, exit_after_replay)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping...")
        finally:
            self._stop_children()

    def _run(self, port: int, sandbox_port: int, username: str, exit_after_replay: bool) -> None:
        self.stdout.write("Migrating the database...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("bearscope_setup", starter="ecommerce", stdout=self.stdout)
        self._local_classifier()
        password = self._admin_login(username)

        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        web_url = f"http://127.0.0.1:{port}"
        # Fresh per run: the sandbox signs with the secret and accepts only this key.
        secret = secrets.token_hex(16)
        api_key = secrets.token_hex(16)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bearscope.settings.local"),
            "KUSTOMER_WEBHOOK_SECRET": secret,
            "KUSTOMER_API_BASE_URL": sandbox_url,
            "KUSTOMER_API_KEY": api_key,
            "PYTHONUNBUFFERED": "1",
            # The sample resolved conversations are analysed within a minute or two, not ten.
            "INSIGHTS_QUIET_PERIOD_SECONDS": os.environ.get("INSIGHTS_QUIET_PERIOD_SECONDS", "30"),
        }
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        self._start(
            "Kustomer sandbox",
            [*manage, "kustomer_sandbox", "--port", str(sandbox_port), "--api-key", api_key],
            env,
        )
        self._start("web server", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env)
        for lane, cluster in CLUSTERS.items():
            # A qcluster per lane, as deployed (docs/operations.md#lanes); the plain one is background.
            lane_env = env if lane == BACKGROUND else {**env, "Q_CLUSTER_NAME": cluster}
            self._start(f"qcluster ({lane} lane)", [*manage, "qcluster"], lane_env)
        self._wait_for(f"{sandbox_url}/_sandbox/stats", "Kustomer sandbox")
        self._wait_for(f"{web_url}/healthz", "web server")

        webhook_url = f"{web_url}/webhooks/kustomer/"
        requests.post(
            f"{sandbox_url}/_sandbox/webhooks", json={"url": webhook_url, "secret": secret}, timeout=10
        )
        self.stdout.write("Replaying sample conversations as signed webhooks...")
        result = requests.post(
            f"{sandbox_url}/_sandbox/replay", json={"url": webhook_url, "secret": secret}, timeout=600
        ).json()
        self.stdout.write(f"  delivered {result['delivered']} events, {result['failed']} failed")
        self._wait_processed()

        self.stdout.write(self.style.SUCCESS("\nBearScope is running."))
        self.stdout.write(f"  Admin:            {web_url}/admin/   login {username} / {password}")
        self.stdout.write(f"  Triage queue:     {web_url}/triage/  quality report {web_url}/triage/quality/")
        self.stdout.write(f"  Shadow replies:   {web_url}/autoreply/shadow/")
        self.stdout.write(
            f"  Insights:         {web_url}/insights/  (resolved conversations appear within about five "
            f"minutes: a {env['INSIGHTS_QUIET_PERIOD_SECONDS']} s quiet period, then the rollup refresh)"
        )
        self.stdout.write(f"  Webhook:          {webhook_url}")
        self.stdout.write(f"  Health:           {web_url}/healthz  {web_url}/readyz")
        self.stdout.write(
            f"  Kustomer sandbox: {sandbox_url}/_sandbox/stats  (a local stand-in, not Kustomer)"
        )
        self.stdout.write("Press Ctrl-C to stop everything.")
        if exit_after_replay:
            return
        while all(child.poll() is None for child in self.children.values()):
            time.sleep(1)
        dead = [label for label, child in self.children.items() if child.poll() is not None]
        raise CommandError(f"The {', '.join(dead)} stopped unexpectedly; its output is above.")

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

    def _start(self, label: str, command: list[str], env: dict) -> None:
        self.stdout.write(f"Starting the {label}...")
        # Own session: Ctrl-C reaches only us, and we stop each child's whole process group.
        self.children[label] = subprocess.Popen(command, env=env, start_new_session=True)

    def _wait_for(self, url: str, label: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in self.children.values()):
                raise CommandError(f"A process exited while waiting for the {label}; see its output above.")
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise CommandError(f"The {label} did not answer at {url} within {timeout:.0f} s.")

    def _wait_processed(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout

        def wait_until(done) -> None:
            while not done() and time.monotonic() < deadline:
                time.sleep(0.5)

        # Each lane has its own queue: wait until every one is empty, not only the event lane's.
        wait_until(lambda: import_string(EVENT_COUNTS)()["received"] == 0 and tasks_waiting() == 0)
        counts = import_string(EVENT_COUNTS)()
        self.stdout.write("  events: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
        wait_until(lambda: import_string(ROUTING_COUNTS)().unfinished == 0)
        routing = import_string(ROUTING_COUNTS)()
        self.stdout.write(
            f"  conversations classified: {routing.classified} ({routing.auto} routed automatically, "
            f"{routing.triage} to triage), {routing.written} written back to Kustomer"
        )
        wait_until(lambda: import_string(DECISION_COUNTS)().undecided == 0)
        decisions = import_string(DECISION_COUNTS)()
        replies = "reply" if decisions.shadow == 1 else "replies"
        self.stdout.write(
            f"  auto-reply decisions: {decisions.shadow} shadow {replies} "
            f"to review, {decisions.blocked} blocked by a guardrail, none sent (the starter policy is in "
            "shadow mode)"
        )

    def _stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children.values():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        self.stdout.write("Stopped the sandbox, web server and qcluster.")
