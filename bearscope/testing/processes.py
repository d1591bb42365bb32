"""Real product processes for integration tests: qcluster, a web server and a private PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from glob import glob
from pathlib import Path

import requests

from bearscope.lanes import CLUSTERS

__all__ = [
    "ROOT",
    "Child",
    "PrivatePostgres",
    "QCluster",
    "free_port",
    "manage",
    "product_env",
    "wait_for",
    "web_server",
]

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
# django-q2 logs these at INFO: which worker process runs which task.
WORKER_READY = re.compile(r"(Process-[0-9a-f]+) ready for work at (\d+)")
WORKER_PROCESSING = re.compile(r"(Process-[0-9a-f]+) processing (\S+) '")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], object], *, timeout: float, interval: float = 0.2, what: str = ""
) -> object:
    """Poll until `condition()` is truthy and return it; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


def product_env(**overrides: str) -> dict[str, str]:
    """Production settings over plain HTTP on loopback, with no developer variables leaking in."""
    prefixes = (
        "DJANGO_",
        "KUSTOMER_",
        "ANTHROPIC_",
        "Q_",
        "QUEUE_",
        "LLM_",
        "INSIGHTS_",
        "REDIS_",
        "DATABASE_",
        "GUNICORN_",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("WEB_CONCURRENCY", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bearscope.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            # Explicit values win over a developer's .env, which django-environ reads for what is unset.
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": LOOPBACK,
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            # Empty wins over a developer's .env and means the database broker.
            "REDIS_URL": "",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    """Run `manage.py ARGS` with `env`; its output, or RuntimeError with the output on failure."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


class Child:
    """One process started in its own session, output kept in a file; stop() ends its group, safe twice."""

    def __init__(self, label: str, argv: list[str], env: dict[str, str]) -> None:
        self.label, self.argv, self.env = label, argv, env
        # A file, not a pipe: a chatty process can never block on its output.
        self.output = tempfile.NamedTemporaryFile(prefix="bearscope-child-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self.output, stderr=self.output, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.label} was not started"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return Path(self.output.name).read_text(errors="replace")

    def log_tail(self, limit: int = 3000) -> str:
        return self.log()[-limit:]

    def warnings(self, count: int = 10) -> list[str]:
        """The last warning, error and traceback lines of its output."""
        lines = self.log_tail(6000).splitlines()
        flagged = [line for line in lines if "WARNING" in line or "ERROR" in line or "Traceback" in line]
        return flagged[-count:]

    def terminate(self) -> None:
        """SIGTERM to the group: qcluster finishes what it holds, gunicorn its requests."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds."""
        if not self.alive:
            return
        self.terminate()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # our own session only
            self.proc.wait(timeout=5)

    def close(self, grace: float = 10) -> None:
        self.stop(grace)
        self.output.close()
        Path(self.output.name).unlink(missing_ok=True)

    def wait_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"the {self.label} exited while starting:\n{self.log_tail()}")
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the {self.label} did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}"
        )


class QCluster(Child):
    """`manage.py qcluster`; reads its log to tell which worker process runs which task."""

    def __init__(self, env: dict[str, str], label: str = "qcluster", *, lane: str | None = None) -> None:
        # A lane's cluster is chosen by django-q2's Q_CLUSTER_NAME; none: the default (background) one.
        lane_env = {"Q_CLUSTER_NAME": CLUSTERS[lane]} if lane else {}
        super().__init__(label, [sys.executable, str(ROOT / "manage.py"), "qcluster"], {**env, **lane_env})

    def worker_pids(self) -> dict[str, int]:
        """Worker process name -> pid, for every worker started so far (reincarnated ones included)."""
        return {name: int(pid) for name, pid in WORKER_READY.findall(self.log())}

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.alive:
                raise RuntimeError(f"the {self.label} exited while starting:\n{self.log_tail()}")
            return len(self.worker_pids()) >= workers

        wait_for(ready, timeout=timeout, what=f"{workers} workers of {self.label}")

    def tasks_run(self) -> list[str]:
        """Names of the tasks this cluster's workers started, in order (a redelivered task twice)."""
        return [task for _, task in WORKER_PROCESSING.findall(self.log())]

    def worker_running(self, task_name: str) -> int | None:
        """The pid of the worker that last started `task_name`, if any did."""
        pids = self.worker_pids()
        found = [
            pids.get(worker) for worker, task in WORKER_PROCESSING.findall(self.log()) if task == task_name
        ]
        return found[-1] if found else None

    def kill_worker(self, pid: int) -> None:
        """kill -9 one worker: what an OOM kill or a lost machine does to the task it holds."""
        assert pid in self.worker_pids().values(), f"{pid} is not a worker of {self.label}"
        os.kill(pid, signal.SIGKILL)


def web_server(env: dict[str, str], port: int, *, workers: int = 2) -> Child:
    """gunicorn serving the product (sync workers), as deployed; call start() and wait_http()."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [
        str(gunicorn), "bearscope.wsgi:application",
        "--bind", f"{LOOPBACK}:{port}",
        "--workers", str(workers), "--worker-class", "sync", "--preload",
        "--log-level", "warning", "--error-logfile", "-", "--chdir", str(ROOT),
    ]  # fmt: skip
    return Child("web server (gunicorn)", argv, env)


def _postgres_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return on_path


class PrivatePostgres:
    """A throwaway PostgreSQL server in a temporary directory on a free port, ours to stop and restart.

    PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user (runuser).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="bearscope-pg-"))
        self.data = self.directory / "data"
        self.logfile = self.directory / "server.log"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres", group="postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self._as_postgres, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}")

    def server_log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self) -> PrivatePostgres:
        self._run(
            _postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses={LOOPBACK} -c fsync=off"
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every client at once, as a restart or failover does."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str, *, copy_of: str = "") -> str:
        """A new database, optionally a copy (schema and rows) of the one at URL `copy_of`; its URL."""
        self._run(_postgres_bin("createdb"), "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", name)
        if copy_of:
            # Seconds, where migrating a fresh database takes a minute on a busy machine.
            dump = subprocess.run(
                [_postgres_bin("pg_dump"), "--no-owner", "--dbname", copy_of], capture_output=True, check=True
            )
            subprocess.run(
                [_postgres_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", "--dbname", self.url(name)],
                input=dump.stdout,
                capture_output=True,
                check=True,
            )
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
