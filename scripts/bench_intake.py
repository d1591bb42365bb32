"""Benchmark webhook intake against /healthz: gunicorn, production settings, PostgreSQL, loopback only."""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import platform
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_support import (
    CLOCK_TICKS,
    LOOPBACK,
    PG_HOST,
    PG_PORT,
    STOP,
    bench_db_drop,
    bench_db_recreate,
    database_url,
    free_port,
    log,
    pg_connect,
    proc_table,
    production_env,
    run_or_exit,
    send_on_schedule,
    venv_bin,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "kustomer" / "tests" / "fixtures" / "conversation_create.json"
# Copied at import time: the benchmark sends what the tests use, and only the id changes.
TEMPLATE: dict[str, Any] = json.loads(FIXTURE.read_text())

BENCH_DB = "bearscope_bench"
WEBHOOK_PATH = "/webhooks/kustomer/"
HEALTH_PATH = "/healthz"
RATIO_TARGET = 0.5
P99_TARGET_MS = 20.0
OVERRUN_GRACE_S = 5.0  # an open-loop run that falls this far behind stops instead of running on


# --- PostgreSQL ---------------------------------------------------------------------------


def bench_db_counts(database: str) -> dict[str, int]:
    """Rows stored by the webhook, and tasks the broker holds for them."""
    with pg_connect(database) as conn:
        events = conn.execute("SELECT count(*) FROM kustomer_webhookevent").fetchone()[0]
        queued = conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]
    return {"stored": int(events), "queued": int(queued)}


def migrate(env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"bench-intake: migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


# --- CPU accounting ---------------------------------------------------------------------


def postgres_ours(pid: int, database: str) -> bool:
    """Backends of other databases (someone's test run on the same server) are not our cost;
    the postmaster, WAL writer, checkpointer and our backends are."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            title = cmdline.read().decode(errors="replace")
    except OSError:
        return False
    client_backend = "(" in title or "[local]" in title  # "postgres: 15/main: user db 127.0.0.1(port) ..."
    return not client_backend or f" {database} " in title


class CpuMeter:
    """CPU spent by the client, the gunicorn tree and PostgreSQL: where a request's cost goes."""

    def __init__(self, gunicorn_pid: int, database: str) -> None:
        self.gunicorn_pid, self.database = gunicorn_pid, database

    def snapshot(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        table = proc_table()
        tree = {self.gunicorn_pid} | {pid for pid, row in table.items() if row[1] == self.gunicorn_pid}
        ours = [
            row for pid, row in table.items() if row[0] == "postgres" and postgres_ours(pid, self.database)
        ]
        return {
            "client": usage.ru_utime + usage.ru_stime,
            "gunicorn": sum(table[pid][2] + table[pid][3] for pid in tree if pid in table),
            "postgres": sum(row[2] for row in ours),
            # Backends that ended: ours without CONN_MAX_AGE, but also any other database's.
            "postgres_reaped": sum(row[3] for row in ours),
            "machine_busy": (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS,  # minus idle, iowait
            "machine_total": sum(fields) / CLOCK_TICKS,
        }

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {key: after[key] - before[key] for key in before}


def cpu_figures(delta: dict[str, float], wall_s: float, requests: int) -> dict:
    """Busy percentages, and CPU milliseconds per request (warm-up requests included)."""
    per, total = max(requests, 1), max(delta["machine_total"], 1e-9)
    # Whatever else ran (other jobs on the box, kernel networking): shows when a figure is noise.
    other = delta["machine_busy"] - sum(
        delta[k] for k in ("client", "gunicorn", "postgres", "postgres_reaped")
    )
    return {
        "client_cpu_pct_of_one_core": round(100 * delta["client"] / max(wall_s, 1e-9), 1),
        "machine_cpu_busy_pct": round(100 * delta["machine_busy"] / total, 1),
        "other_cpu_pct": round(100 * max(other, 0.0) / total, 1),
        "cpu_ms_per_request": {
            name: round(1000 * delta[name] / per, 3)
            for name in ("client", "gunicorn", "postgres", "postgres_reaped")
        },
    }


# --- gunicorn -----------------------------------------------------------------------------


class Server:
    """One gunicorn master started by us; stop() is safe to call twice and on any failure."""

    def __init__(
        self, env: dict[str, str], worker_class: str, workers: int, threads: int, *, database: str
    ) -> None:
        self.env, self.worker_class, self.workers, self.database = env, worker_class, workers, database
        # gunicorn silently turns sync into gthread when threads > 1.
        self.threads = threads if worker_class == "gthread" else 1
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # Closed in stop(); a file, not a pipe, so a chatty server can never block on it.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def config(self) -> dict[str, Any]:
        return {
            "bind": f"{LOOPBACK}:{self.port}",
            "worker_class": self.worker_class,
            "workers": self.workers,
            "threads": self.threads,
            "keepalive_s": 2 if self.worker_class == "gthread" else 0,
            "app": "bearscope.wsgi:application",
        }

    def start(self) -> None:
        argv = [
            venv_bin("gunicorn"),
            "bearscope.wsgi:application",
            "--bind", f"{LOOPBACK}:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", self.worker_class,
            "--threads", str(self.threads),
            "--log-level", "warning",
            "--error-logfile", "-",
            "--chdir", str(ROOT),
        ]  # fmt: skip
        # Own session: Ctrl-C reaches only this script, which then stops gunicorn in order.
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=self.stderr, stderr=self.stderr, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _ = request_once(self.port, "GET", HEALTH_PATH)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {HEALTH_PATH} within 30 s:\n{self.log_tail()}")

    def meter(self) -> CpuMeter:
        assert self.proc is not None
        return CpuMeter(self.proc.pid, self.database)

    def log_tail(self, limit: int = 3000) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-limit:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: in-flight requests finish and commit
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only
            self.proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        self.stderr.close()


# --- load generator -----------------------------------------------------------------------

Event = tuple[bytes, str]  # (body, signature)


class Events:
    """Unique signed webhook bodies, built before any timing so signing is not measured."""

    def __init__(self, secret: str) -> None:
        self.key = secret.encode()
        self.token = secrets.token_hex(4)  # ids stay unique across runs even with --keep-db
        self.serial = 0
        envelope = dict(TEMPLATE, id="BENCH-EVENT-ID")
        # Kustomer sends compact JSON; split once so each body is a cheap join.
        self.head, self.tail = json.dumps(envelope, separators=(",", ":")).encode().split(b"BENCH-EVENT-ID")

    def build(self, count: int) -> list[Event]:
        built = []
        for _ in range(count):
            self.serial += 1
            event_id = f"{self.token}{self.serial:016x}".encode()  # 24 hex, like a Kustomer id
            body = self.head + event_id + self.tail
            built.append((body, hmac.new(self.key, body, hashlib.sha256).hexdigest()))
        return built


class Feeder:
    """Hands each event to exactly one client thread."""

    def __init__(self, events: list[Event] | None) -> None:
        self.events, self.next, self.lock = events, 0, threading.Lock()
        self.exhausted_at: float | None = None

    def take(self) -> Event | bool | None:
        """An event, None for /healthz, or False when the pool is used up."""
        if self.events is None:
            return None
        with self.lock:
            if self.next >= len(self.events):
                if self.exhausted_at is None:
                    self.exhausted_at = time.perf_counter()
                return False
            event = self.events[self.next]
            self.next += 1
            return event


def request_once(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Client:
    """One keep-alive connection (http.client reconnects itself when the server closes it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)

    def send(self, event: Event | None) -> tuple[int, bool]:
        """(status, accepted): status 0 is a transport error; accepted means newly stored."""
        try:
            if event is None:
                self.conn.request("GET", HEALTH_PATH)
            else:
                body, signature = event
                self.conn.request(
                    "POST",
                    WEBHOOK_PATH,
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Kustomer-Webhook-Signature": signature,
                        "X-Kustomer-Webhook-Event": "kustomer.conversation.create",
                        "User-Agent": "bearscope-bench-intake",
                    },
                )
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
            return 0, False
        return response.status, response.status == 200 and b'"accepted"' in data

    def close(self) -> None:
        self.conn.close()


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list, in the list's unit."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def latency_summary(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)
    return {
        f"{name}_ms": round(percentile(ordered, pct) * 1000, 2)
        for name, pct in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    }


def run_threads(target: Callable[[Client, list], None], port: int, concurrency: int) -> list[tuple]:
    """Runs `target` on `concurrency` threads, each with its own connection; merged samples."""
    results: list[list[tuple]] = [[] for _ in range(concurrency)]
    clients = [Client(port) for _ in range(concurrency)]
    threads = [
        threading.Thread(target=target, args=(client, out), daemon=True)
        for client, out in zip(clients, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return [sample for out in results for sample in out]


def closed_loop(
    server: Server, events: list[Event] | None, concurrency: int, warmup: float, seconds: float
) -> dict:
    """As fast as the server answers; raw figures, samples completed during warm-up left out."""
    feeder = Feeder(events)
    meter = server.meter()
    cpu_before = meter.snapshot()
    start = time.perf_counter()
    warm_end, deadline = start + warmup, start + warmup + seconds

    def loop(client: Client, out: list) -> None:
        while not STOP.is_set():
            event = feeder.take()
            if event is False:
                return
            sent = time.perf_counter()
            status, accepted = client.send(event)  # type: ignore[arg-type]
            done = time.perf_counter()
            out.append((done, done - sent, status, accepted))
            if done >= deadline:
                return

    samples = run_threads(loop, server.port, concurrency)
    wall = time.perf_counter() - start
    window_end = min(deadline, feeder.exhausted_at or deadline)
    measured = [s for s in samples if warm_end <= s[0] <= window_end]
    return {
        "window": max(window_end - warm_end, 1e-9),
        "latencies": [s[1] for s in measured],
        "statuses": Counter(s[2] for s in measured),
        "cpu": CpuMeter.delta(cpu_before, meter.snapshot()),
        "wall": wall,
        "requests_all": len(samples),
        "pool_exhausted": feeder.exhausted_at is not None and feeder.exhausted_at < deadline,
        # Every acknowledged event counts for the stored-vs-acknowledged check, warm-up included.
        "acknowledged_total": sum(1 for s in samples if s[3]),
    }


def closed_summary(raws: list[dict]) -> dict:
    """One phase's figures from its interleaved slices."""
    window = sum(r["window"] for r in raws)
    latencies = [x for r in raws for x in r["latencies"]]
    statuses: Counter = sum((r["statuses"] for r in raws), Counter())
    cpu = {key: sum(r["cpu"][key] for r in raws) for key in raws[0]["cpu"]}
    return {
        "mode": "closed-loop",
        "seconds": round(window, 3),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / window, 1),
        "per_slice_requests_per_s": [round(len(r["latencies"]) / r["window"], 1) for r in raws],
        "errors": sum(n for code, n in statuses.items() if code != 200),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **latency_summary(latencies),
        **cpu_figures(cpu, sum(r["wall"] for r in raws), sum(r["requests_all"] for r in raws)),
        "pool_exhausted": any(r["pool_exhausted"] for r in raws),
        "acknowledged_total": sum(r["acknowledged_total"] for r in raws),
    }


def open_loop(
    server: Server, events: list[Event], rate: float, concurrency: int, warmup: float, seconds: float
) -> dict:
    """Sends on a fixed schedule; latency runs from the scheduled send time to the response, so
    a slow answer delays later sends and shows up in their latency (no coordinated omission)."""
    total = min(len(events), int((warmup + seconds) * rate))
    start = time.time() + 0.05  # let every thread reach its first sleep
    warm_end = start + warmup
    meter = server.meter()
    cpu_before = meter.snapshot()
    local = threading.local()
    lock = threading.Lock()
    clients: list[Client] = []
    samples: list[tuple] = []

    def send(index: int) -> None:
        if not hasattr(local, "client"):  # one keep-alive connection per sender thread
            local.client = Client(server.port)
            with lock:
                clients.append(local.client)
        scheduled = start + index / rate
        sent = time.time()
        status, accepted = local.client.send(events[index])
        done = time.time()
        with lock:
            samples.append((scheduled, done - scheduled, status, accepted, done - sent, done))

    send_on_schedule(
        range(total),
        lambda index: start + index / rate,
        send,
        threads=concurrency,
        give_up_at=start + warmup + seconds + OVERRUN_GRACE_S,
        name="intake",
    )
    for client in clients:
        client.close()
    cpu, wall = CpuMeter.delta(cpu_before, meter.snapshot()), time.time() - start
    measured = [s for s in samples if s[0] >= warm_end]
    expected = total - int(warmup * rate)
    last_done = max((s[5] for s in measured), default=warm_end + seconds)
    statuses = Counter(s[2] for s in measured)
    unsent = max(expected - len(measured), 0)
    return {
        "mode": "open-loop",
        "target_rate_per_s": rate,
        "seconds": seconds,
        "requests": len(measured),
        "achieved_rate_per_s": round(len(measured) / max(last_done - warm_end, seconds), 1),
        "errors": sum(n for code, n in statuses.items() if code != 200) + unsent,
        "unsent": unsent,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **latency_summary([s[1] for s in measured]),
        "service_time": latency_summary([s[4] for s in measured]),
        "late_sends": sum(1 for s in measured if s[1] - s[4] > 0.005),
        **cpu_figures(cpu, wall, len(samples)),
        "acknowledged_total": sum(1 for s in samples if s[3]),
    }


def preflight(port: int, events: Events) -> int:
    """One signed event must be accepted, or the benchmark would only measure error pages."""
    body, signature = events.build(1)[0]
    status, data = request_once(
        port,
        "POST",
        WEBHOOK_PATH,
        body,
        {"Content-Type": "application/json", "X-Kustomer-Webhook-Signature": signature},
    )
    if status != 200 or b'"accepted"' not in data:
        raise RuntimeError(f"preflight webhook answered {status}: {data[:500]!r}")
    return 1


# --- orchestration ------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (10)")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s for the fixed-rate phase (200)")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections (16)")
    parser.add_argument(
        "--workers", type=int, default=2 * cores + 1, help=f"gunicorn workers ({2 * cores + 1})"
    )
    parser.add_argument(
        "--worker-class",
        choices=("auto", "sync", "gthread"),
        default="auto",
        help="auto measures both briefly and keeps the faster at intake (auto)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (4)")
    parser.add_argument(
        "--db-options",
        default="",
        help="DATABASE_URL query string, e.g. 'conn_max_age=0' to measure a connection per request (none)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating /healthz-intake slices sharing --seconds (5)"
    )
    parser.add_argument(
        "--database", default=BENCH_DB, help=f"PostgreSQL database, dropped and recreated ({BENCH_DB})"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per phase")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 2.0, 2
    if (
        args.seconds <= 0
        or args.rate <= 0
        or args.concurrency < 1
        or args.workers < 1
        or args.threads < 1
        or args.rounds < 1
    ):
        parser.error("--seconds, --rate, --concurrency, --workers, --threads and --rounds must be positive")
    return args


def intake_slices(servers: list[Server], events: Events, args: argparse.Namespace) -> list[dict]:
    """Short intake runs alternating between already-running servers, so that a burst of noise
    on a shared or virtual machine hits every candidate rather than deciding the comparison."""
    rounds, seconds = (2, 0.75) if args.quick else (3, 1.0)
    raws: list[list[dict]] = [[] for _ in servers]
    for _ in range(rounds):
        for index, server in enumerate(servers):
            pool = events.build(int((seconds + 0.3) * 3000))
            raws[index].append(closed_loop(server, pool, args.concurrency, 0.3, seconds))
    return [closed_summary(r) for r in raws]


def calibrate(
    env: dict[str, str], args: argparse.Namespace, events: Events
) -> tuple[Server, list[dict], int]:
    """Intake with sync and with gthread workers; the faster keeps running for the benchmark."""
    servers = [
        Server(env, worker_class, args.workers, args.threads, database=args.database)
        for worker_class in ("sync", "gthread")
    ]
    winner: Server | None = None
    try:
        acknowledged = 0
        for server in servers:
            server.start()
            acknowledged += preflight(server.port, events)
        log("calibrating: intake on sync and gthread workers, alternating...")
        results = intake_slices(servers, events, args)
        acknowledged += sum(r["acknowledged_total"] for r in results)
        trials = [
            {**server.config, **{k: r[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "errors")}}
            for server, r in zip(servers, results, strict=True)
        ]
        winner = max(zip(servers, results, strict=True), key=lambda pair: pair[1]["requests_per_s"])[0]
        return winner, trials, acknowledged
    finally:
        for server in servers:
            if server is not winner:
                server.close()


def throughput_rounds(
    server: Server, events: Events, args: argparse.Namespace, warmup: float
) -> tuple[dict, dict, list[float]]:
    """/healthz and intake in alternating slices: both phases see the same machine conditions."""
    rounds = max(1, args.rounds)
    seconds = args.seconds / rounds
    health_raws, intake_raws, ratios = [], [], []
    for index in range(rounds):
        # A full warm-up first; later slices only need their fresh connections to settle.
        slice_warmup = warmup if index == 0 else 0.2
        health = closed_loop(server, None, args.concurrency, slice_warmup, seconds)
        health_rps = len(health["latencies"]) / health["window"]
        # Intake cannot outrun /healthz; 1.5x its rate plus slack keeps the pool from running dry.
        pool = events.build(int((slice_warmup + seconds) * health_rps * 1.5) + 1000)
        intake = closed_loop(server, pool, args.concurrency, slice_warmup, seconds)
        health_raws.append(health)
        intake_raws.append(intake)
        ratios.append(round(len(intake["latencies"]) / intake["window"] / max(health_rps, 1e-9), 3))
    return closed_summary(health_raws), closed_summary(intake_raws), ratios


def benchmark(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    webhook_secret = secrets.token_hex(32)
    db_url = database_url(args.database, args.db_options)
    # REDIS_URL empty: the issue asks for the database broker.
    env = production_env(db_url=db_url, redis_url="", KUSTOMER_WEBHOOK_SECRET=webhook_secret)
    log(f"recreating database {args.database} on {PG_HOST}:{PG_PORT}...")
    pg_version = bench_db_recreate(args.database)
    report: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "postgresql": pg_version,
            "note": "client, gunicorn and PostgreSQL share the machine's cores",
        },
        "database_url": db_url,
        "database_url_options": args.db_options or "(none: DB_CONN_MAX_AGE applies, 60 s by default)",
        "concurrency": args.concurrency,
    }
    server: Server | None = None
    try:
        log("migrating...")
        report["migrate_seconds"] = round(migrate(env), 1)
        events = Events(webhook_secret)
        acknowledged = 0
        if args.worker_class == "auto":
            server, report["calibration"], acknowledged = calibrate(env, args, events)
        else:
            server = Server(env, args.worker_class, args.workers, args.threads, database=args.database)
            log(f"starting gunicorn ({args.worker_class}, {args.workers} workers)...")
            server.start()
            acknowledged += preflight(server.port, events)
        chosen_by = "calibration" if args.worker_class == "auto" else "flag"
        report["gunicorn"] = {**server.config, "chosen_by": chosen_by}
        warmup = 0.5 if args.quick else 1.0

        log(
            f"closed loop: {HEALTH_PATH} and {WEBHOOK_PATH} alternating, "
            f"{args.rounds} x {args.seconds / args.rounds:g} s each..."
        )
        health, intake, ratios = throughput_rounds(server, events, args, warmup)
        acknowledged += intake["acknowledged_total"]
        ratio = intake["requests_per_s"] / health["requests_per_s"] if health["requests_per_s"] else 0.0

        pool = events.build(int((warmup + args.seconds) * args.rate) + 1)
        log(
            f"open loop at {args.rate:g} events/s against {WEBHOOK_PATH} "
            f"({warmup:g} s warm-up + {args.seconds:g} s)..."
        )
        fixed = open_loop(server, pool, args.rate, args.concurrency, warmup, args.seconds)
        acknowledged += fixed["acknowledged_total"]
        server.stop()  # graceful: every acknowledged transaction has committed once it returns
        server_log = server.log_tail()
        counts = bench_db_counts(args.database)
        report.update(
            {
                "healthz": health,
                "intake": intake,
                "ratio": round(ratio, 3),
                "healthz_rps": health["requests_per_s"],
                "intake_rps": intake["requests_per_s"],
                # The yardstick is 200 events/s; another --rate has its p99 in fixed_rate only.
                "p99_ms_at_200": fixed["p99_ms"] if args.rate == 200 else None,
                "ratio_per_round": ratios,
                "ratio_target": RATIO_TARGET,
                "ratio_pass": ratio >= RATIO_TARGET,
                "fixed_rate": fixed,
                "p99_target_ms": P99_TARGET_MS,
                "p99_pass": fixed["p99_ms"] < P99_TARGET_MS and fixed["errors"] == 0,
                "verification": {
                    "stored": counts["stored"],
                    "acknowledged": acknowledged,
                    "queued": counts["queued"],
                    "ok": counts["stored"] == acknowledged == counts["queued"],
                },
                "server_log_tail": server_log[-1500:] if server_log.strip() else "",
            }
        )
    finally:
        STOP.set()
        if server is not None:
            server.close()
        if args.keep_db:
            log(f"kept database {args.database} ({db_url})")
        else:
            bench_db_drop(args.database)
    report["duration_seconds"] = round(time.perf_counter() - started, 1)
    return report


def report_text(r: dict) -> str:
    def yes(flag: bool) -> str:
        return "PASS" if flag else "MISS"

    def closed(name: str, d: dict) -> str:
        return (
            f"  {name:<8} {d['requests_per_s']:>8.1f} req/s  "
            f"p50 {d['p50_ms']:>6.2f} ms  p99 {d['p99_ms']:>6.2f} ms"
            f"  errors {d['errors']}\n"
            f"           per slice req/s: {', '.join(f'{x:g}' for x in d['per_slice_requests_per_s'])}\n"
            f"{cpu(d)}"
        )

    def cpu(d: dict) -> str:
        per = d["cpu_ms_per_request"]
        return (
            f"           CPU ms/request: client {per['client']:.2f}  gunicorn {per['gunicorn']:.2f}  "
            f"postgres {per['postgres']:.2f} + {per['postgres_reaped']:.2f} in ended backends; "
            f"machine {d['machine_cpu_busy_pct']:g}% busy, "
            f"{d['other_cpu_pct']:g}% by other processes"
        )

    m, g, f, v = r["machine"], r["gunicorn"], r["fixed_rate"], r["verification"]
    lines = [
        f"bench-intake: {m['cores']} cores ({m['usable_cores']} usable, shared by client and server), "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}",
        f"gunicorn: {g['worker_class']} worker, {g['workers']} workers x {g['threads']} threads, "
        f"bind {g['bind']} (chosen by {g['chosen_by']}); production settings, django-q2 ORM broker"
        + ("; sync workers close each connection (no keep-alive)" if g["worker_class"] == "sync" else ""),
        f"DATABASE_URL options: {r['database_url_options']}; client: {r['concurrency']} connections",
    ]
    for trial in r.get("calibration", []):
        lines.append(
            f"  calibration {trial['worker_class']:<7} intake {trial['requests_per_s']:>7.1f} req/s  "
            f"p99 {trial['p99_ms']:.2f} ms  errors {trial['errors']}"
        )
    lines += [
        f"Throughput (closed loop, {len(r['ratio_per_round'])} alternating slices, "
        f"{r['intake']['seconds']:g} s measured each):",
        closed("/healthz", r["healthz"]),
        closed("intake", r["intake"]),
        f"  ratio intake/healthz {r['ratio']:.3f} (target >= {r['ratio_target']}) {yes(r['ratio_pass'])}"
        + ("  [pool ran dry: run shortened]" if r["intake"]["pool_exhausted"] else ""),
        f"  ratio per slice: {', '.join(f'{x:.3f}' for x in r['ratio_per_round'])}",
        f"Fixed rate (open loop, {f['target_rate_per_s']:g} events/s for {f['seconds']:g} s): "
        f"achieved {f['achieved_rate_per_s']:.1f}/s, {f['requests']} requests",
        f"  latency from schedule: p50 {f['p50_ms']:.2f}  p95 {f['p95_ms']:.2f}  p99 {f['p99_ms']:.2f}  "
        f"max {f['max_ms']:.2f} ms  errors {f['errors']}"
        + (f" ({f['unsent']} never sent: server fell behind)" if f["unsent"] else "")
        + "  "
        f"(p99 < {r['p99_target_ms']:g} ms) {yes(r['p99_pass'])}",
        f"  service time only:     p50 {f['service_time']['p50_ms']:.2f}  "
        f"p99 {f['service_time']['p99_ms']:.2f} ms;"
        f" sends >5 ms late: {f['late_sends']}",
        cpu(f),
        f"Stored {v['stored']} of {v['acknowledged']} acknowledged; {v['queued']} tasks queued "
        f"{'OK' if v['ok'] else 'MISMATCH'}",
        f"Total {r['duration_seconds']:g} s (migrate {r['migrate_seconds']:g} s)",
    ]
    if r.get("server_log_tail"):
        lines += ["gunicorn log (tail):", r["server_log_tail"]]
    return "\n".join(lines)


def main() -> int:
    args = parse_args()

    report = run_or_exit(lambda: benchmark(args), cleaned_up="gunicorn stopped, database cleaned up")
    print(json.dumps(report, indent=2) if args.json else report_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
