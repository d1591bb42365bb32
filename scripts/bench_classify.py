"""Benchmark classification end to end at a fixed rate: webhook to Kustomer write-back, with qcluster."""

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from bench_support import (
    CLOCK_TICKS,
    KEYWORD_INTENTS,
    LOOPBACK,
    PG_HOST,
    PG_PORT,
    ROOT,
    STOP,
    WEBHOOK_PATH,
    Catalogue,
    Child,
    QueueDepth,
    bench_db_drop,
    bench_db_recreate,
    broker_choose,
    database_url,
    fetch_rows,
    free_port,
    log,
    manage,
    percentile,
    pg_connect,
    proc_cmdline,
    proc_table,
    product_env,
    product_start,
    product_stop,
    redis_flush,
    run_or_exit,
    send_on_schedule,
    spread,
    wait_written,
)

from bearscope.testing.messages_server import MessagesServer
from kustomer.sandbox.webhooks import build_event, deliver

BENCH_DB = "bearscope_bench_classify"

LLM_LATENCY_MS = 800
P95_TARGET_S = 2.0
CACHED_SHARE_TARGET = 0.80
KEEPUP_GRACE_S = 5.0  # "kept up": the last offered conversation is written back this soon after the window
PROGRESS_EVERY_S = 10.0
IDLE_SECONDS = 5.0

# --- CPU accounting -----------------------------------------------------------------------


def cpu_snapshot(children: dict[str, Child]) -> dict[str, float]:
    """CPU seconds so far per part of the system, and the machine's busy and total time."""
    table = proc_table()
    kids: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)

    def tree_cpu(root: int) -> float:
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += table[pid][2] + table[pid][3] if pid in table else 0.0
            stack.extend(kids.get(pid, []))
        return total

    usage = resource.getrusage(resource.RUSAGE_SELF)
    snap = {label: tree_cpu(child.proc.pid) for label, child in children.items() if child.proc is not None}
    snap["bench (senders + messages server)"] = usage.ru_utime + usage.ru_stime
    # The whole server: an exited backend's time moves to the postmaster, whatever its database.
    snap["postgres (whole server)"] = sum(
        own + reaped for command, _, own, reaped in table.values() if command.startswith("postgres")
    )
    # Live backends name their database in their title: those of other databases are someone
    # else's load inside the figure above (a shared machine), shown apart as a warning.
    snap["_pg_other_databases"] = 0.0
    for pid, (command, _, own, reaped) in table.items():
        title = proc_cmdline(pid) if command.startswith("postgres") else b""
        # A client backend's title ends with the client's "host(port) state".
        if b"(" in title and BENCH_DB.encode() not in title:
            snap["_pg_other_databases"] += own + reaped
    snap["redis"] = sum(
        own + reaped for command, _, own, reaped in table.values() if command.startswith("redis-server")
    )
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    snap["_busy"] = (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # minus idle, iowait
    snap["_total"] = sum(fields) / CLOCK_TICKS
    if "qcluster" in children and children["qcluster"].proc is not None:
        # Per process: one process near a whole core (the monitor, the pusher) is a ceiling of its own.
        stack, root = [children["qcluster"].proc.pid], children["qcluster"].proc.pid
        while stack:
            pid = stack.pop()
            if pid in table and pid != root:
                snap[f"_qcluster_pid_{pid}"] = table[pid][2] + table[pid][3]
            stack.extend(kids.get(pid, []))
    return snap


def cpu_report(
    before: dict[str, float], after: dict[str, float], wall: float, conversations: int
) -> dict[str, Any]:
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    total = max(delta.pop("_total"), 1e-9)
    busy = delta.pop("_busy")
    pg_other = max(delta.pop("_pg_other_databases", 0.0), 0.0)
    per_process = sorted(
        (delta.pop(key) for key in [k for k in delta if k.startswith("_qcluster_pid_")]), reverse=True
    )
    ours = sum(delta.values())
    # Whatever else ran: other jobs on a shared machine, the kernel. Shows when a run is noise.
    delta["other processes"] = max(busy - ours, 0.0)
    return {
        "machine_busy_pct": round(100 * busy / total, 1),
        "cores_used": round(busy / max(wall, 1e-9), 2),
        # Our own CPU per conversation does not depend on what else runs: compare configurations by it.
        "own_cores": round(ours / max(wall, 1e-9), 2),
        "own_cpu_ms_per_conversation": round(1000 * ours / max(conversations, 1), 1),
        "cores_by_part": {key: round(value / max(wall, 1e-9), 2) for key, value in delta.items()},
        "qcluster_busiest_processes_cores": [round(v / max(wall, 1e-9), 2) for v in per_process[:3]],
        "postgres_other_databases_live_cores": round(pg_other / max(wall, 1e-9), 2),
    }


# --- load -------------------------------------------------------------------------------------


@dataclass
class Offer:
    """One new conversation offered to the system, and what the sending side saw."""

    index: int
    subject: str
    text: str
    customer_id: str
    channel: str
    scheduled: float  # epoch seconds
    started: float = 0.0
    finished: float = 0.0
    conversation_id: str = ""
    statuses: list[int | None] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.conversation_id) and not self.error and all(s == 200 for s in self.statuses)


class Sender:
    """Offers one new conversation: created in the sandbox, then delivered as signed webhooks."""

    def __init__(self, sandbox_url: str, webhook_url: str, secret: str, org: str, mode: str) -> None:
        self.sandbox_url, self.webhook_url, self.secret, self.org, self.mode = (
            sandbox_url,
            webhook_url,
            secret,
            org,
            mode,
        )
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def offer(self, item: Offer) -> None:
        item.started = time.time()
        try:
            if self.mode == "sandbox":
                self._offer_via_sandbox(item)
            else:
                self._offer_direct(item)
        except (requests.RequestException, KeyError, ValueError) as exc:
            item.error = f"{type(exc).__name__}: {exc}"[:300]
        item.finished = time.time()

    def _scenario(self, item: Offer, deliver_events: bool) -> dict[str, Any]:
        response = self.session().post(
            f"{self.sandbox_url}/_sandbox/scenarios/new-conversation",
            json={
                "customer_id": item.customer_id,
                "text": item.text,
                "subject": item.subject,
                "channel": item.channel,
                "deliver": deliver_events,
            },
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def _offer_via_sandbox(self, item: Offer) -> None:
        # The sandbox delivers both events itself, in order, and answers once they were attempted.
        result = self._scenario(item, True)
        item.conversation_id = result["conversation_id"]
        item.statuses = [d["status_code"] for d in result["deliveries"]]
        if len(item.statuses) != 2:
            item.error = f"sandbox delivered {len(item.statuses)} of 2 events"

    def _offer_direct(self, item: Offer) -> None:
        # The sandbox creates the conversation (so write-backs find it); we deliver its two events
        # ourselves, because the sandbox's single dispatcher also carries every write-back echo.
        result = self._scenario(item, False)
        item.conversation_id = result["conversation_id"]
        state = self.session().get(
            f"{self.sandbox_url}/_sandbox/state/conversations/{item.conversation_id}", timeout=10
        )
        state.raise_for_status()
        raw = state.json()
        message = next(m for m in raw["messages"] if m["id"] == result["message_id"])
        for name, data in (
            ("kustomer.conversation.create", raw["conversation"]),
            ("kustomer.message.create", message),
        ):
            response = deliver(self.webhook_url, self.secret, build_event(name, data, org=self.org))
            item.statuses.append(response.status_code)


def plan_offers(catalogue: Catalogue, rate: float, seconds: float, first_index: int) -> list[Offer]:
    """The open-loop schedule: offer i is due at start + i / rate, whatever the system does."""
    start = time.time() + 0.2  # let every sender thread reach its first sleep
    count = max(1, round(rate * seconds))
    return [Offer(first_index + i, *catalogue.draw(), scheduled=start + i / rate) for i in range(count)]


def task_timings(conn: psycopg.Connection, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Enqueue-to-done time of each django-q2 task of the measured conversations, by kind.

    django-q2 stores `started` when the task is enqueued (async_task) and `stopped` when it ends,
    so the difference is queue wait plus run time. Its monitor saves a result after the task
    ends and keeps only the last Q_CLUSTER["save_limit"] successes: `saved` below `expected`
    means results were pruned or the monitor is still behind.
    """
    tasks = {
        name: stopped.timestamp() - started.timestamp()
        for name, started, stopped in conn.execute(
            "SELECT name, started, stopped FROM django_q_task WHERE success"
        ).fetchall()
    }
    names: dict[str, list[str]] = {}
    events = conn.execute(
        "SELECT id, name FROM kustomer_webhookevent WHERE conversation_id = ANY(%s)", (list(rows),)
    ).fetchall()
    for pk, name in events:
        label = "process " + name.removeprefix("kustomer.") + (" (echo)" if name.endswith(".update") else "")
        names.setdefault(label, []).append(f"event-{pk}")
    for row in rows.values():
        if row["conversation_pk"]:
            names.setdefault("classify", []).append(f"classify-{row['conversation_pk']}")
        if row["classification_pk"]:
            names.setdefault("write back", []).append(f"writeback-{row['classification_pk']}")
    return {
        label: {
            "expected": len(items),
            "saved": sum(1 for name in items if name in tasks),
            "enqueued_to_done_s": spread([tasks[name] for name in items if name in tasks]),
        }
        for label, items in sorted(names.items())
    }


def pg_sessions(conn: psycopg.Connection) -> int:
    """Sessions ever opened on our database: each costs PostgreSQL a backend process to fork."""
    row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (BENCH_DB,)).fetchone()
    return int(row[0]) if row else 0


def progress_counts(conn: psycopg.Connection) -> tuple[int, int, int]:
    """(conversations mirrored, classified, written back) over the whole database."""
    conversations = conn.execute("SELECT count(*) FROM kustomer_conversation").fetchone()[0]
    classified, written = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE writeback_status = 'done') "
        "FROM classification_classification WHERE current"
    ).fetchone()
    return int(conversations), int(classified), int(written)


def summarise(
    offers: list[Offer], rows: dict[str, dict[str, Any]], start: float, seconds: float, rate: float
) -> dict[str, Any]:
    """Counts, throughput, webhook-to-write-back times (and where they go), tokens per classification."""
    sent = [o for o in offers if o.ok]
    measured = [rows[o.conversation_id] for o in sent if o.conversation_id in rows]
    classified = [r for r in measured if r["status"] == "done"]
    written = [r for r in classified if r["writeback_status"] == "done" and r["written"] and r["received"]]
    end = start + seconds
    latencies = [r["written"] - r["received"] for r in written]
    # Steady state: skip the first seconds while the pipeline fills, and shift the window by the
    # median webhook-to-write-back time so that it holds the write-backs of the offers it covers.
    ramp = min(5.0, seconds / 4)
    shift = percentile(latencies, 50) or 0.0
    in_window = sum(1 for r in written if start + ramp + shift <= r["written"] < end + shift)
    throughput = in_window / (seconds - ramp)
    last_written = max((r["written"] for r in written), default=None)
    all_done = len(written) == len(offers)
    drain = (last_written - end) if last_written else None
    kept_up = all_done and drain is not None and drain <= KEEPUP_GRACE_S and throughput >= 0.95 * rate

    stages = {
        "webhook_to_event_processed": [r["processed"] - r["received"] for r in written if r["processed"]],
        "event_processed_to_classify_start": [
            r["created"] - r["processed"] for r in written if r["processed"] and r["created"]
        ],
        "classify_run (incl. model call)": [r["classified"] - r["created"] for r in written if r["created"]],
        "model_call": [r["latency_ms"] / 1000 for r in written if r["latency_ms"] is not None],
        "classified_to_written_back": [r["written"] - r["classified"] for r in written if r["classified"]],
    }
    tokens = {key: sum(r[key] or 0 for r in classified) for key in ("input", "cache_read", "cache_creation")}
    outputs = sum(r["output"] or 0 for r in classified)
    n = max(len(classified), 1)
    prompt_total = sum(tokens.values())
    cached_share = (tokens["cache_read"] + tokens["cache_creation"]) / prompt_total if prompt_total else 0.0
    lateness = [o.started - o.scheduled for o in offers if o.started]
    routes: dict[str, int] = {}
    intents: dict[str, int] = {}
    for r in classified:
        label = r["route"] + (f" ({r['route_reason']})" if r["route_reason"] else "")
        routes[label] = routes.get(label, 0) + 1
        intents[r["intent"] or "(none)"] = intents.get(r["intent"] or "(none)", 0) + 1
    return {
        "offered": len(offers),
        "offer_errors": len(offers) - len(sent),
        "offer_error_examples": sorted({o.error or str(o.statuses) for o in offers if not o.ok})[:5],
        "offer_send_seconds": spread([o.finished - o.started for o in offers if o.finished]),
        "offer_late_over_100ms": sum(1 for x in lateness if x > 0.1),
        "offer_max_lateness_s": round(max(lateness, default=0.0), 3),
        "offered_rate_per_s": round(len(offers) / seconds, 2),
        "classified": len(classified),
        "written_back": len(written),
        "routes": routes,
        "intents": dict(sorted(intents.items(), key=lambda item: -item[1])),
        "throughput_per_s": round(throughput, 2),
        "throughput_window_s": [round(ramp + shift, 2), round(seconds + shift, 2)],
        "written_back_after_window_s": None if drain is None else round(drain, 2),
        "kept_up": kept_up,
        "webhook_to_writeback_s": spread(latencies),
        "stages_s": {name: spread(values) for name, values in stages.items()},
        "tokens_per_classification": {
            "input_uncached": round(tokens["input"] / n, 1),
            "cache_read": round(tokens["cache_read"] / n, 1),
            "cache_creation": round(tokens["cache_creation"] / n, 1),
            "output": round(outputs / n, 1),
        },
        "cached_share": round(cached_share, 4),
    }


# --- orchestration ------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="new conversations offered per second (10)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the offer window (60)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 s at the same rate")
    parser.add_argument(
        "--workers",
        type=int,
        default=16,
        help="qcluster workers, Q_WORKERS (16: 10/s x ~0.85 s per classification keeps ~9 busy, "
        "the other four tasks per conversation ~1 more; the rest is headroom for bursts)",
    )
    parser.add_argument(
        "--broker",
        choices=("auto", "redis", "orm"),
        default="auto",
        help="django-q2 broker: auto uses Redis when it answers at 127.0.0.1:6379, else the database",
    )
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database number, flushed first (13)")
    parser.add_argument(
        "--delivery",
        choices=("direct", "sandbox"),
        default="direct",
        help="direct: create in the sandbox, deliver the two webhooks from here (default); "
        "sandbox: the scenario call delivers them through the sandbox's single dispatcher",
    )
    parser.add_argument("--gunicorn-workers", type=int, default=3, help="gunicorn sync workers (3)")
    parser.add_argument(
        "--senders", type=int, default=16, help="sender threads of the open-loop schedule (16)"
    )
    parser.add_argument(
        "--db-options", default="", help="DATABASE_URL query string, e.g. 'conn_max_age=0' (none)"
    )
    parser.add_argument(
        "--drain", type=float, default=60.0, help="longest wait for write-backs after the window (60)"
    )
    parser.add_argument(
        "--q-setting",
        type=q_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="experiment: override a Q_CLUSTER setting that has no environment variable, e.g. "
        "save_limit=-1 or poll=0.05 (repeatable; the project is not edited)",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 10.0
    if args.rate <= 0 or args.seconds <= 0 or min(args.workers, args.gunicorn_workers, args.senders) < 1:
        parser.error("--rate, --seconds, --workers, --gunicorn-workers and --senders must be positive")
    return args


def q_setting(text: str) -> tuple[str, Any]:
    """KEY=VALUE for --q-setting; VALUE is JSON (numbers, true/false) or else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def settings_module(directory: Path, overrides: dict[str, Any]) -> str:
    """A settings module that is production plus Q_CLUSTER overrides: measures a change to settings
    that have no environment variable without editing the project. Returns its dotted name."""
    name = "bench_classify_settings"
    (directory / f"{name}.py").write_text(
        "import json\n"
        "from bearscope.settings.production import *  # noqa: F403\n"
        "from bearscope.settings.production import Q_CLUSTER\n"
        f"Q_CLUSTER = {{**Q_CLUSTER, **json.loads({json.dumps(json.dumps(overrides))})}}\n"
    )
    return name


class Progress:
    """A line every PROGRESS_EVERY_S: offered, classified, written back, and the broker's backlog."""

    def __init__(
        self,
        conn: psycopg.Connection,
        depth: QueueDepth,
        baseline: tuple[int, int, int],
        offered: Callable[[], int],
    ) -> None:
        self.conn, self.depth, self.baseline, self.offered = conn, depth, baseline, offered
        self.started = time.time()
        self.samples: list[dict[str, Any]] = []

    def line(self, phase: str) -> None:
        conversations, classified, written = progress_counts(self.conn)
        sample = {
            "t": round(time.time() - self.started, 1),
            "offered": self.offered(),
            "mirrored": conversations - self.baseline[0],
            "classified": classified - self.baseline[1],
            "written_back": written - self.baseline[2],
            "queued": self.depth.read(self.conn),
        }
        self.samples.append(sample)
        log(
            f"  [{phase} {sample['t']:>5.0f} s] offered {sample['offered']:>4}"
            f"  mirrored {sample['mirrored']:>4}"
            f"  classified {sample['classified']:>4}  written back {sample['written_back']:>4}"
            f"  broker backlog {sample['queued']}"
        )


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    began = time.time()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    overrides = dict(args.q_setting)
    keys = {"secret": secrets.token_hex(32), "api_key": secrets.token_hex(16)}
    broker, redis_url = broker_choose(args.broker, args.redis_db)
    log(f"recreating database {BENCH_DB} on {PG_HOST}:{PG_PORT}...")
    pg_version = bench_db_recreate(BENCH_DB)
    db_url = database_url(BENCH_DB, args.db_options)
    sandbox_port, web_port = free_port(), free_port()
    sandbox_url, web_url = f"http://{LOOPBACK}:{sandbox_port}", f"http://{LOOPBACK}:{web_port}"
    rng = random.Random(20240611)  # the same texts in the same order on every run
    children: dict[str, Child] = {}
    messages: MessagesServer | None = None
    conn: psycopg.Connection | None = None
    report: dict[str, Any] = {}
    settings_dir: Path | None = None
    try:
        # In this process: a threaded server, so 800 ms per answer does not serialise concurrent calls.
        messages = MessagesServer(host=LOOPBACK, latency_ms=LLM_LATENCY_MS, keyword_intents=KEYWORD_INTENTS)
        if overrides:
            settings_dir = Path(tempfile.mkdtemp(prefix="bench_classify_"))
        env = product_env(
            db_url=db_url,
            redis_url=redis_url,
            sandbox_url=sandbox_url,
            messages_url=messages.base_url,
            keys=keys,
            workers=args.workers,
            events_per_minute=args.rate * 60,
        )
        if settings_dir is not None:
            env["DJANGO_SETTINGS_MODULE"] = settings_module(settings_dir, overrides)
            env["PYTHONPATH"] = os.pathsep.join([str(settings_dir), str(ROOT)])
        log("migrating and loading the default taxonomy...")
        manage(env, "migrate", "--noinput")
        manage(env, "taxonomy_load")
        log(
            f"starting the sandbox, gunicorn ({args.gunicorn_workers} sync workers) and qcluster "
            f"({args.workers} workers); messages server at {messages.base_url} ({LLM_LATENCY_MS} ms)..."
        )
        product_start(
            children,
            env,
            sandbox_port=sandbox_port,
            web_port=web_port,
            gunicorn_workers=args.gunicorn_workers,
        )
        webhook_url = f"{web_url}{WEBHOOK_PATH}"
        sandbox_state = requests.get(f"{sandbox_url}/_sandbox/state", timeout=10).json()
        catalogue = Catalogue(sandbox_state, rng)
        sender = Sender(sandbox_url, webhook_url, keys["secret"], sandbox_state["org"], args.delivery)

        conn = pg_connect(BENCH_DB)
        depth = QueueDepth(broker, args.redis_db)

        # Warm-up: every worker imports its task modules, the SDK and opens its connections, and the
        # model's prompt cache is written once, as in a system that has been running for a while.
        warm_seconds = max(2.0, 2 * args.workers / args.rate)
        log(f"warm-up: {warm_seconds:g} s at {args.rate:g}/s, then waiting for every write-back...")
        warm_offers = plan_offers(catalogue, args.rate, warm_seconds, 0)
        send_on_schedule(warm_offers, lambda item: item.scheduled, sender.offer, threads=args.senders)
        warm_ids = [o.conversation_id for o in warm_offers if o.ok]
        if len(warm_ids) != len(warm_offers):
            errors = {o.error or str(o.statuses) for o in warm_offers if not o.ok}
            raise RuntimeError(
                f"warm-up offers failed: {sorted(errors)[:3]}\n{children['gunicorn'].log_tail()}"
            )
        if not wait_written(conn, warm_ids, 60, lambda: None):
            tails = "\n".join(f"--- {c.label}\n{c.log_tail(1500)}" for c in children.values())
            raise RuntimeError(f"warm-up conversations were not all written back within 60 s\n{tails}")
        warm_requests = len(messages.message_requests)

        # What the running system costs doing nothing (polling, guard loops): a floor under every rate.
        idle_before = cpu_snapshot(children)
        STOP.wait(IDLE_SECONDS)
        cpu_idle = cpu_report(idle_before, cpu_snapshot(children), IDLE_SECONDS, 0)

        offers = plan_offers(catalogue, args.rate, args.seconds, len(warm_offers))
        start = offers[0].scheduled
        progress = Progress(conn, depth, progress_counts(conn), lambda: sum(1 for o in offers if o.finished))
        log(
            f"offering {args.rate:g} new conversations/s for {args.seconds:g} s "
            f"({args.delivery} delivery, {args.senders} sender threads)..."
        )
        cpu_before = cpu_snapshot(children)
        sessions_before = pg_sessions(conn)
        next_line = start + PROGRESS_EVERY_S

        def tick(phase: str) -> None:
            nonlocal next_line
            if time.time() >= next_line:
                progress.line(phase)
                next_line += PROGRESS_EVERY_S

        # Each offer at its time from a small pool, so a lagging system does not slow the offer.
        send_on_schedule(
            offers,
            lambda item: item.scheduled,
            sender.offer,
            threads=args.senders,
            on_tick=lambda: tick("offer"),
        )
        ids = [o.conversation_id for o in offers if o.conversation_id]
        log(f"offer window over; waiting up to {args.drain:g} s for the remaining write-backs...")
        next_line = time.time() + PROGRESS_EVERY_S

        wait_written(conn, ids, args.drain, lambda: tick("drain"))
        # Until the backlog is done, so that the CPU per conversation includes all of its work.
        cpu_window = cpu_report(cpu_before, cpu_snapshot(children), time.time() - start, len(offers))
        cpu_window["postgres_sessions_per_conversation"] = round(
            (pg_sessions(conn) - sessions_before) / max(len(offers), 1), 1
        )
        progress.line("end")
        # Stop the producers and let qcluster finish what it holds (SIGTERM is graceful), so that the
        # request count below is settled and no classification is still in flight when compared.
        for label in ("gunicorn", "qcluster"):
            children[label].stop()
        rows = fetch_rows(conn, ids)
        # Started, not done: a classification still in flight has already made its one call.
        total_classifications = conn.execute(
            "SELECT count(*) FROM classification_classification WHERE started_at IS NOT NULL"
        ).fetchone()[0]
        message_requests = len(messages.message_requests)
        summary = summarise(offers, rows, start, args.seconds, args.rate)
        p95 = summary["webhook_to_writeback_s"]["p95"]
        report = {
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": pg_version,
                "note": "senders, sandbox, gunicorn, qcluster, PostgreSQL and Redis share the cores",
                "load_average_at_start": load_at_start,
            },
            "config": {
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "broker": broker,
                "redis_url": redis_url or None,
                "q_workers": args.workers,
                "gunicorn_sync_workers": args.gunicorn_workers,
                "delivery": args.delivery,
                "database_url_options": args.db_options or "(none: the settings' CONN_MAX_AGE applies)",
                "llm_latency_ms": LLM_LATENCY_MS,
                "warmup_conversations": len(warm_offers),
                "q_cluster_overrides": overrides or None,
            },
            **summary,
            "messages_server": {
                "requests_total": message_requests,
                "requests_during_window_and_drain": message_requests - warm_requests,
                "classifications_total": int(total_classifications),
                "one_call_per_classification": message_requests == total_classifications,
                "errors": [repr(e) for e in messages.errors[:3]],
            },
            "tasks": task_timings(conn, rows),
            "cpu_window_and_drain": cpu_window,
            "cpu_idle": cpu_idle,
            "progress": progress.samples,
            "targets": {
                "keeps_up": summary["kept_up"],
                "p95_under_2s": p95 is not None and p95 < P95_TARGET_S,
                "cached_share_at_least_80pct": summary["cached_share"] >= CACHED_SHARE_TARGET,
            },
        }
        report["qcluster_warnings"] = children["qcluster"].warnings()
    finally:
        STOP.set()
        if conn is not None:
            conn.close()
        product_stop(children)
        if messages is not None:
            messages.stop()
        if settings_dir is not None:
            shutil.rmtree(settings_dir, ignore_errors=True)
        if broker == "redis":
            redis_flush(args.redis_db)
        if args.keep_db:
            log(f"kept database {BENCH_DB} ({db_url})")
        else:
            bench_db_drop(BENCH_DB)
    report["duration_seconds"] = round(time.time() - began, 1)
    return report


def fmt(value: float | None, unit: str = "s") -> str:
    return "n/a" if value is None else f"{value:.2f} {unit}"


def report_text(r: dict[str, Any]) -> str:
    def yes(flag: bool) -> str:
        return "PASS" if flag else "MISS"

    c, t, m, lat = r["config"], r["targets"], r["messages_server"], r["webhook_to_writeback_s"]
    tok, cpu = r["tokens_per_classification"], r["cpu_window_and_drain"]
    lines = [
        f"bench-classify: {r['machine']['cores']} cores (load average at start "
        f"{', '.join(str(x) for x in r['machine']['load_average_at_start'])}), "
        f"Python {r['machine']['python']}, "
        f"PostgreSQL {r['machine']['postgresql']}; model answers after {c['llm_latency_ms']} ms",
        f"broker {c['broker']}{' ' + c['redis_url'] if c['redis_url'] else ''}, Q_WORKERS={c['q_workers']}, "
        f"gunicorn {c['gunicorn_sync_workers']} sync workers, {c['delivery']} delivery, "
        f"DATABASE_URL options: {c['database_url_options']}; "
        f"Q_CLUSTER overrides: {c['q_cluster_overrides'] or 'none'}; "
        f"{c['warmup_conversations']} warm-up conversations",
        f"Offered   {r['offered']} new conversations in {c['seconds']:g} s ({r['offered_rate_per_s']:g}/s), "
        f"{r['offer_errors']} failed to send; sends >100 ms late: {r['offer_late_over_100ms']} "
        f"(max {r['offer_max_lateness_s']:g} s); send time p50 {fmt(r['offer_send_seconds']['p50'])} "
        f"p95 {fmt(r['offer_send_seconds']['p95'])}",
        f"Classified {r['classified']}, written back {r['written_back']} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(r['routes'].items()))}); "
        f"{len(r['intents'])} intents: {', '.join(f'{k} {v}' for k, v in r['intents'].items())}",
        f"Throughput held {r['throughput_per_s']:.2f}/s (write-backs per second from "
        f"{r['throughput_window_s'][0]:g} s to {r['throughput_window_s'][1]:g} s: the window after its "
        "first seconds, shifted by the median latency); last write-back "
        f"{fmt(r['written_back_after_window_s'])} after the window -> "
        f"{'kept up' if r['kept_up'] else 'did NOT keep up'}  {yes(t['keeps_up'])}",
        f"Webhook -> write-back: p50 {fmt(lat['p50'])}  p95 {fmt(lat['p95'])}  p99 {fmt(lat['p99'])}  "
        f"max {fmt(lat['max'])}  (p95 < {P95_TARGET_S:g} s) {yes(t['p95_under_2s'])}",
        "  where the time goes (p50 / p95):",
    ]
    for name, s in r["stages_s"].items():
        lines.append(f"    {name:<36} {fmt(s['p50'])} / {fmt(s['p95'])}")
    lines.append("  django-q2 tasks, enqueue to done (queue wait + run), p50 / p95, over the saved results:")
    for name, task in r["tasks"].items():
        done = task["enqueued_to_done_s"]
        lines.append(
            f"    {name:<36} {fmt(done['p50'])} / {fmt(done['p95'])}   "
            f"({task['saved']} of {task['expected']} results saved)"
        )
    lines += [
        f"Tokens per classification: input uncached {tok['input_uncached']:g}, "
        f"cache read {tok['cache_read']:g}, "
        f"cache creation {tok['cache_creation']:g}, output {tok['output']:g}",
        f"  cached share of input {100 * r['cached_share']:.1f}% (target >= {100 * CACHED_SHARE_TARGET:g}%) "
        f"{yes(t['cached_share_at_least_80pct'])}",
        f"Messages server: {m['requests_total']} requests for {m['classifications_total']} "
        "started classifications "
        f"(warm-up included) {'OK: one call each' if m['one_call_per_classification'] else 'MISMATCH'}",
        "CPU from the window start to the last write-back: "
        f"machine {cpu['machine_busy_pct']:g}% busy ({cpu['cores_used']:g} cores), "
        f"ours {cpu['own_cores']:g} cores = {cpu['own_cpu_ms_per_conversation']:g} ms per conversation; "
        + ", ".join(f"{k} {v:g}" for k, v in cpu["cores_by_part"].items()),
        f"  PostgreSQL sessions opened per conversation: {cpu['postgres_sessions_per_conversation']:g}; "
        f"of postgres, live backends of other databases: {cpu['postgres_other_databases_live_cores']:g} "
        f"cores; busiest qcluster processes (cores): {cpu['qcluster_busiest_processes_cores']}; idle system "
        f"before the window: ours {r['cpu_idle']['own_cores']:g} cores, other processes "
        f"{r['cpu_idle']['cores_by_part']['other processes']:g}",
    ]
    if r["offer_error_examples"]:
        lines.append(f"Offer errors (examples): {r['offer_error_examples']}")
    if r.get("qcluster_warnings"):
        lines += ["qcluster warnings (last):", *r["qcluster_warnings"]]
    lines.append(f"Total {r['duration_seconds']:g} s")
    return "\n".join(lines)


def main() -> int:
    args = parse_args()

    report = run_or_exit(lambda: benchmark(args), cleaned_up="every process stopped and the database dropped")
    print(json.dumps(report, indent=2) if args.json else report_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
