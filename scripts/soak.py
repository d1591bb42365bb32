"""Soak the whole product at a fixed event rate: nothing lost, no reply sent twice, worker memory flat."""

import argparse
import json
import os
import platform
import random
import re
import resource
import secrets
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests
from bench_support import (
    KEYWORD_INTENTS,
    LOOPBACK,
    ROOT,
    STOP,
    TEXTS,
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
    proc_table,
    product_env,
    product_start,
    product_stop,
    redis_flush,
    run_or_exit,
    send_on_schedule,
    spread,
)

from bearscope.testing.messages_server import MessagesServer, example_for_schema, output_schema, reply_json
from kustomer.sandbox.webhooks import sign

SOAK_DB = "bearscope_soak"
TAXONOMY = ROOT / "classification" / "data" / "ecommerce_taxonomy.json"
ORDER_NUMBER = re.compile(r"\bBS-\d{6}\b")
MEMORY_GROWTH_TARGET = 0.10
SETTLED = ("processed", "ignored", "failed")
ROLE_ORDER = ["main", "sentinel", "monitor", "pusher", "worker"]
SAMPLE_EVERY_S = 10.0
OVERRUN_GRACE_S = 5.0  # a lagging system gets this long after the window for the sends in flight
BACKLOG_AFTER_S = 10.0  # the broker backlog is read this long after the window: is it keeping up?
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Action:
    """One kind of thing that happens in Kustomer, and the events it sends."""

    label: str
    per_second: float  # events per second at the default 100 events/s; scaled with --rate
    events: int = 1


# New conversations are the expensive part (classification, write-back, auto-reply: ~90 ms of CPU
# each), so they are a small share; keys name the Driver's methods.
MIX = {
    "new_conversation": Action("new conversation (conversation.create + message.create)", 5.0, events=2),
    "customer_message": Action("customer message on an open or resolved conversation", 55.0),
    "resolve": Action("conversation resolved (conversation.update)", 5.0),
    "reopen": Action("conversation reopened (conversation.update)", 1.0),
    "duplicate": Action("duplicate delivery of a recent event (a Kustomer retry)", 8.0),
    "ignored": Action("event of a type BearScope ignores", 6.0),
}
IGNORED_TYPES = ("kustomer.kobject.update", "kustomer.user.update", "kustomer.team.update")
WISMO_SHARE = 0.3  # of new conversations, so that the live WISMO policy has replies to send
FOLLOW_UPS = [
    "Any news on this?",
    "Thanks, and how long will it take?",
    "Sorry, one more thing: can you send it to my work address instead?",
    "Hello? Still waiting for an answer here.",
    "Got it, thank you!",
]


# --- the model ----------------------------------------------------------------------------------


def first_sub_intents() -> dict[str, str]:
    """Each intent's first sub-intent in the default taxonomy (shipping_issue -> status: WISMO)."""
    taxonomy = json.loads(TAXONOMY.read_text())
    return {i["key"]: i["sub_intents"][0]["key"] for i in taxonomy["intents"] if i.get("sub_intents")}


def responder_for(sub_intents: dict[str, str]) -> Any:
    """A valid answer to every schema; a classification gets the keyword's intent, that intent's first
    sub-intent and the order number the customer wrote, as a model would."""

    def respond(body: dict[str, Any]) -> Any:
        schema = output_schema(body)
        if schema is None or "sub_intent" not in schema.get("properties", {}):
            return reply_json(example_for_schema(schema)) if schema else None
        content = body["messages"][-1]["content"]
        text = content if isinstance(content, str) else " ".join(block.get("text", "") for block in content)
        intents = [intent for keyword, intent in KEYWORD_INTENTS.items() if keyword in text.lower()]
        prefer = {"intent": intents, "sub_intent": [sub_intents[i] for i in intents if i in sub_intents]}
        answer = example_for_schema(schema, prefer=prefer)
        order = ORDER_NUMBER.search(text)
        answer["entities"]["order_number"] = order.group(0) if order else None
        return reply_json(answer)

    return respond


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One webhook delivery made by the soak."""

    event_id: str
    name: str
    status: int | None
    answer: str = ""  # the intake's "status": accepted, duplicate, ignored
    repeat: bool = False


@dataclass
class Load:
    """What the soak sent and what it knows of the conversations it made."""

    sent: list[Sent] = field(default_factory=list)
    # Recent deliveries (id, name, body) to repeat: Kustomer retries soon after a delivery, not hours later.
    recent: deque[tuple[str, str, bytes]] = field(default_factory=lambda: deque(maxlen=2000))
    open_ids: list[str] = field(default_factory=list)
    done_ids: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    late: int = 0
    unsent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Driver:
    """Turns each planned action into sandbox changes and the signed webhooks Kustomer would send."""

    def __init__(
        self,
        sandbox_url: str,
        webhook_url: str,
        secret: str,
        catalogue: Catalogue,
        rng: random.Random,
        org: str,
    ) -> None:
        self.sandbox_url, self.webhook_url, self.secret = sandbox_url, webhook_url, secret
        self.catalogue, self.rng, self.org = catalogue, rng, org
        self.wismo = [t for t in TEXTS if "where" in t[1].lower() and "{order}" in t[1]]
        self.load = Load()
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def post(self, event_id: str, name: str, body: bytes, *, repeat: bool = False) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Kustomer-Webhook-Event": name,
            "X-Kustomer-Webhook-Signature": sign(body, self.secret),
        }
        try:
            response = self.session().post(self.webhook_url, data=body, headers=headers, timeout=30)
            status, answer = response.status_code, response.json().get("status", "")
        except (requests.RequestException, ValueError) as exc:
            status, answer = None, type(exc).__name__
        with self.load.lock:
            if not repeat:
                self.load.recent.append((event_id, name, body))
            self.load.sent.append(Sent(event_id, name, status, answer, repeat=repeat))

    def deliver(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.post(event["id"], event["name"], json.dumps(event, separators=(",", ":")).encode())

    def scenario(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        response = self.session().post(
            f"{self.sandbox_url}/_sandbox/scenarios/{path}", json={**body, "deliver": False}, timeout=30
        )
        if response.status_code == 409:  # resolved or reopened meanwhile by another action
            return None
        response.raise_for_status()
        return response.json()

    def pick(self, pool: list[str], *, remove: bool) -> str | None:
        with self.load.lock:
            if not pool:
                return None
            index = self.rng.randrange(len(pool))
            if remove:
                pool[index], pool[-1] = pool[-1], pool[index]
                return pool.pop()
            return pool[index]

    def act(self, action: str) -> None:
        try:
            getattr(self, action)()
        except (requests.RequestException, KeyError, ValueError) as exc:
            with self.load.lock:
                self.load.errors[f"{action}: {type(exc).__name__}"] += 1

    def new_conversation(self) -> None:
        subject, text, customer, channel = self.catalogue.draw()
        if self.rng.random() < WISMO_SHARE:
            subject, text = self.rng.choice(self.wismo)
            order = self.rng.choice(self.catalogue.orders.get(customer) or ["BS-100000"])
            subject, text = subject.format(order=order), text.format(order=order)
        answer = self.scenario(
            "new-conversation",
            {"customer_id": customer, "text": text, "subject": subject, "channel": channel},
        )
        self.deliver(answer["payloads"])
        with self.load.lock:
            self.load.open_ids.append(answer["conversation_id"])
            self.load.new_ids.append(answer["conversation_id"])

    def customer_message(self) -> None:
        # Mostly open conversations; a resolved one is reopened by the customer writing again.
        load = self.load
        reopening = bool(load.done_ids) and self.rng.random() < 0.1
        conversation = self.pick(load.done_ids if reopening else load.open_ids, remove=reopening)
        if conversation is None:
            return
        answer = self.scenario(
            "customer-message", {"conversation_id": conversation, "text": self.rng.choice(FOLLOW_UPS)}
        )
        self.deliver(answer["payloads"])
        if reopening:
            with load.lock:
                load.open_ids.append(conversation)

    def resolve(self) -> None:
        self.status_change("resolve", self.load.open_ids, self.load.done_ids)

    def reopen(self) -> None:
        self.status_change("reopen", self.load.done_ids, self.load.open_ids)

    def status_change(self, scenario: str, source: list[str], target: list[str]) -> None:
        """An agent resolves or reopens a conversation; moved between the pools while it is changed."""
        conversation = self.pick(source, remove=True)
        if conversation is None:
            return
        answer = self.scenario(scenario, {"conversation_id": conversation})
        if answer:
            self.deliver(answer["payloads"])
        with self.load.lock:
            (target if answer else source).append(conversation)

    def duplicate(self) -> None:
        with self.load.lock:
            recent = self.rng.choice(self.load.recent) if self.load.recent else None
        if recent is not None:
            self.post(*recent, repeat=True)

    def ignored(self) -> None:
        name = self.rng.choice(IGNORED_TYPES)
        data = {"type": name.split(".")[1], "id": secrets.token_hex(12), "attributes": {}}
        event = {
            "id": secrets.token_hex(12),
            "name": name,
            "org": self.org,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "dataId": data["id"],
            "data": data,
            "changes": None,
        }
        self.deliver([event])


def plan(rate: float, seconds: float, rng: random.Random) -> list[tuple[float, str]]:
    """Open-loop: (offset, action) drawn from the mix, spaced so that events go out at `rate`."""
    keys = list(MIX)
    weights = [MIX[key].per_second / MIX[key].events for key in keys]
    schedule, at = [], 0.0
    while at < seconds:
        key = rng.choices(keys, weights)[0]
        schedule.append((at, key))
        at += MIX[key].events / rate
    return schedule


def run_load(
    driver: Driver, schedule: list[tuple[float, str]], seconds: float, threads: int, on_tick: Any
) -> float:
    """Send the schedule from a pool of threads for `seconds`; what a lagging system left unsent by
    then is counted, not sent late, so the window stays as long as asked. `on_tick` runs every second.
    Returns the window's start (epoch seconds)."""
    start = time.time() + 0.2

    def send(item: tuple[float, str]) -> None:
        if time.time() - (start + item[0]) > 1.0:
            with driver.load.lock:
                driver.load.late += 1
        driver.act(item[1])

    unsent = send_on_schedule(
        schedule,
        lambda item: start + item[0],
        send,
        threads=threads,
        give_up_at=start + seconds + OVERRUN_GRACE_S,
        on_tick=on_tick,
        name="soak",
    )
    with driver.load.lock:
        driver.load.unsent += unsent
    return start


# --- memory -------------------------------------------------------------------------------------


def children_by_parent(table: dict[int, tuple[str, int, float, float]]) -> dict[int, list[int]]:
    """The process table (bench_support.proc_table) as parent pid -> child pids."""
    kids: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    return kids


def cpu_by_process(children: dict[str, Child]) -> dict[str, float]:
    """CPU seconds so far of each child's process tree (reaped children included), PostgreSQL's
    processes, and this one (the senders and the Messages API server)."""
    table = proc_table()
    kids = children_by_parent(table)
    cpu = {}
    for label, child in children.items():
        tree = [child.proc.pid] if child.proc else []
        for pid in tree:
            tree += kids.get(pid, [])
        cpu[label] = sum(table[pid][2] + table[pid][3] for pid in tree if pid in table)
    cpu["postgres"] = sum(own + reaped for command, _, own, reaped in table.values() if command == "postgres")
    cpu["load (senders, Messages API server)"] = own_cpu_seconds()
    return cpu


def own_cpu_seconds() -> float:
    """CPU of this process: the senders and the Messages API server (the load, not the product)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except OSError:
        return 0  # exited while we looked


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages divided among the processes sharing them (forked workers
    share most of the sentinel's pages, so their RSS sum counts those pages once per process)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class QclusterMemory:
    """RSS of the qcluster process tree: the sum, and each process by role and pid.

    django-q2's processes all carry the `manage.py qcluster` command line, so roles come from the
    tree: the main process, its sentinel, and the sentinel's children, which it starts as the
    workers, then the monitor, then the pusher; a recycled worker comes back with a new pid.
    """

    def __init__(self, children: dict[str, Child]) -> None:
        # One tree per lane's qcluster, summed: the product's worker memory as deployed.
        self.roots = {
            child.proc.pid: label.removeprefix("qcluster").strip() or "background"
            for label, child in children.items()
            if label.startswith("qcluster") and child.proc
        }
        self.roles: dict[int, str] = {}
        self.samples: list[dict[str, Any]] = []

    def sample(self) -> dict[str, Any]:
        kids = children_by_parent(proc_table())
        pids: list[int] = []
        lanes: dict[int, str] = {}
        for root, lane in self.roots.items():
            sentinels = sorted(kids.get(root, []))
            if root not in self.roles:
                self.roles[root] = f"{lane} main"
                for sentinel in sentinels:
                    self.roles[sentinel] = f"{lane} sentinel"
                    started = sorted(kids.get(sentinel, []))
                    self.roles.update(dict.fromkeys(started[-2:-1], f"{lane} monitor"))
                    self.roles.update(dict.fromkeys(started[-1:], f"{lane} pusher"))
            tree = [root, *sentinels, *(pid for s in sentinels for pid in sorted(kids.get(s, [])))]
            lanes.update(dict.fromkeys(tree, lane))
            pids += tree
        processes = {f"{self.roles.get(pid, f'{lanes[pid]} worker')} {pid}": rss_bytes(pid) for pid in pids}
        sample = {
            "t": time.time(),
            "total": sum(processes.values()),
            "pss_total": sum(pss_bytes(pid) for pid in pids),
            "processes": processes,
        }
        self.samples.append(sample)
        return sample


# --- results ------------------------------------------------------------------------------------


class BacklogProbe:
    """The broker backlog `after` seconds from now, read on its own thread and connection so that
    the drain goes on meanwhile; None when the run was interrupted first."""

    def __init__(self, database: str, depth: QueueDepth, after: float) -> None:
        self.value: int | None = None
        self._thread = threading.Thread(
            target=self._read, args=(database, depth, time.time() + after), name="backlog-probe", daemon=True
        )
        self._thread.start()

    def _read(self, database: str, depth: QueueDepth, at: float) -> None:
        if STOP.wait(max(0.0, at - time.time())):
            return
        with pg_connect(database) as conn:
            self.value = depth.read(conn)

    def result(self) -> int | None:
        self._thread.join()
        return self.value


def event_states(conn: psycopg.Connection, ids: list[str]) -> dict[str, tuple[str, int]]:
    """event id -> (status, attempts) for the ids stored."""
    rows = conn.execute(
        "SELECT event_id, status, attempts FROM kustomer_webhookevent WHERE event_id = ANY(%s)", (ids,)
    ).fetchall()
    return {event_id: (status, attempts) for event_id, status, attempts in rows}


def pending_work(conn: psycopg.Connection, depth: QueueDepth) -> int:
    """Events not settled, conversations not written back, replies not finished, tasks queued.

    Over the whole database, which holds only this run's data: cheap enough to ask every few seconds
    with tens of thousands of events (the exact per-event check runs once, at the end).
    """
    return int(
        conn.execute(
            "SELECT (SELECT count(*) FROM kustomer_webhookevent WHERE status = 'received')"
            " + (SELECT count(*) FROM kustomer_conversation conv LEFT JOIN classification_classification c"
            "    ON c.conversation_id = conv.id AND c.current"
            "    WHERE c.id IS NULL OR c.writeback_status <> 'done')"
            " + (SELECT count(*) FROM autoreply_autoreply WHERE state IN ('pending', 'sending', 'unknown'))"
        ).fetchone()[0]
    ) + depth.read(conn)


def sandbox_flushed(sandbox_url: str) -> bool:
    """True when the sandbox's webhook dispatcher has nothing left to deliver."""
    answer = requests.post(f"{sandbox_url}/_sandbox/webhooks/flush", json={"timeout": 2}, timeout=30)
    return bool(answer.json()["drained"])


def sandbox_replies(sandbox_url: str, conversation_ids: list[str]) -> dict[str, int]:
    """Outbound messages sent from one of our drafts, per conversation, as the sandbox holds them."""
    session = requests.Session()

    def count(conversation_id: str) -> tuple[str, int]:
        raw = session.get(f"{sandbox_url}/_sandbox/state/conversations/{conversation_id}", timeout=30).json()
        sent = [
            m
            for m in raw["messages"]
            if m["attributes"]["direction"] == "out" and (m["attributes"].get("meta") or {}).get("draftId")
        ]
        return conversation_id, len(sent)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(count, conversation_ids))


def db_counts(conn: psycopg.Connection, new_ids: list[str]) -> dict[str, Any]:
    one = lambda query, *params: conn.execute(query, params).fetchone()[0]  # noqa: E731
    replies = dict(
        conn.execute("SELECT state, count(*) FROM autoreply_autoreply GROUP BY state ORDER BY 1").fetchall()
    )
    decisions = dict(
        conn.execute(
            "SELECT CASE WHEN verdict = 'reply' THEN 'reply' ELSE coalesce(nullif(reason, ''), verdict) END, "
            "count(*) FROM autoreply_autoreplydecision GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    analyses = dict(
        conn.execute(
            "SELECT CASE WHEN status = 'waiting' THEN 'in quiet period' "
            "ELSE 'extraction ' || extraction_status END, count(*) "
            "FROM intelligence_conversationanalysis GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    return {
        "conversations_classified": one(
            "SELECT count(*) FROM classification_classification c JOIN kustomer_conversation conv "
            "ON conv.id = c.conversation_id "
            "WHERE c.current AND c.status = 'done' AND conv.kustomer_id = ANY(%s)",
            new_ids,
        ),
        "escalations": one("SELECT count(*) FROM autoreply_escalation"),
        "reply_errors": dict(
            conn.execute(
                "SELECT left(error, 120), count(*) FROM autoreply_autoreply WHERE error <> '' GROUP BY 1"
            ).fetchall()
        ),
        "autoreplies_by_status": replies,
        "autoreply_decisions": decisions,
        "analyses_by_status": analyses,
    }


def acknowledged(driver: Driver, sandbox_url: str) -> tuple[set[str], list[dict[str, Any]]]:
    """Event ids answered 200, sent by the soak or by the sandbox (its echoes of our own writes),
    and the sandbox's delivery log."""
    ours = {s.event_id for s in driver.load.sent if s.status == 200}
    deliveries = requests.get(f"{sandbox_url}/_sandbox/webhooks/deliveries", timeout=30).json()["deliveries"]
    return ours | {d["event_id"] for d in deliveries if d["status_code"] == 200}, deliveries


def lost_and_failed(
    conn: psycopg.Connection, driver: Driver, sandbox_url: str
) -> tuple[dict[str, Any], list[str]]:
    """Every acknowledged event must be stored and settled (processed, ignored, or failed and kept
    for the admin's Reprocess). Returns the counts and the lost ids."""
    ids, deliveries = acknowledged(driver, sandbox_url)
    states = event_states(conn, sorted(ids))
    by_status = Counter(status for status, _ in states.values())
    lost = sorted(e for e in ids if states.get(e, ("missing", 0))[0] not in SETTLED)
    echoes = sum(1 for d in deliveries if d["status_code"] == 200)
    return (
        {
            "echoes_delivered_by_sandbox": len(deliveries),
            "echoes_acknowledged": echoes,
            "acknowledged_unique": len(ids),
            "stored": len(states),
            "by_status": dict(by_status),
            "failed": by_status.get("failed", 0),
        },
        lost,
    )


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 1)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    began = time.time()
    keys = {"secret": secrets.token_hex(32), "api_key": secrets.token_hex(16)}
    broker, redis_url = broker_choose("redis", args.redis_db)
    log(f"recreating database {args.database}...")
    pg_version = bench_db_recreate(args.database)
    sandbox_port, web_port = free_port(), free_port()
    sandbox_url, web_url = f"http://{LOOPBACK}:{sandbox_port}", f"http://{LOOPBACK}:{web_port}"
    rng = random.Random(20261124)
    children: dict[str, Child] = {}
    messages: MessagesServer | None = None
    conn: psycopg.Connection | None = None
    try:
        messages = MessagesServer(
            host=LOOPBACK, latency_ms=args.llm_latency_ms, responder=responder_for(first_sub_intents())
        )
        env = product_env(
            db_url=database_url(args.database, ""),
            redis_url=redis_url,
            sandbox_url=sandbox_url,
            messages_url=messages.base_url,
            keys=keys,
            workers=args.workers,
            events_per_minute=args.rate * 60,
        )
        # Resolved conversations are analysed within the run instead of after ten minutes.
        env["INSIGHTS_QUIET_PERIOD_SECONDS"] = str(args.quiet_period)
        log("migrating, loading the ecommerce starter and making the WISMO policy live...")
        manage(env, "migrate", "--noinput")
        manage(env, "bearscope_setup", "--starter", "ecommerce")
        manage(
            env, "autoreply_mode", "shipping_issue", "live", "--sub-intent", "status",
            "--override-reason", "soak test against the Kustomer sandbox",
        )  # fmt: skip
        log(
            f"starting the sandbox, gunicorn ({args.gunicorn_workers} sync workers), qcluster "
            f"({args.workers} workers, Redis {redis_url}); model answers after {args.llm_latency_ms} ms..."
        )
        product_start(
            children,
            env,
            sandbox_port=sandbox_port,
            web_port=web_port,
            gunicorn_workers=args.gunicorn_workers,
        )
        summary = requests.get(f"{sandbox_url}/_sandbox/state", timeout=10).json()
        driver = Driver(
            sandbox_url,
            f"{web_url}{WEBHOOK_PATH}",
            keys["secret"],
            Catalogue(summary, rng),
            rng,
            summary["org"],
        )
        conn = pg_connect(args.database)
        depth = QueueDepth(broker, args.redis_db)

        def drain(limit: float, label: str) -> float:
            """Wait until everything sent so far is settled; seconds it took."""
            started = time.time()
            while time.time() - started < limit and not STOP.is_set():
                left = pending_work(conn, depth)
                # Settled only once the sandbox has delivered every echo of our writes, too.
                if left == 0 and sandbox_flushed(sandbox_url):
                    break
                waited = time.time() - started
                log(f"  [{label} {waited:>4.0f} s] {left} events, write-backs, replies or tasks pending")
                STOP.wait(5.0)
            return time.time() - started

        # Warm-up: every worker has imported and run each kind of task before memory is measured.
        log(f"warm-up: {args.warmup:g} s of the same mix at {args.rate:g} events/s...")
        run_load(driver, plan(args.rate, args.warmup, rng), args.warmup, args.senders, lambda: None)
        drain(args.drain, "warm-up drain")
        warm_sent, warm_new = len(driver.load.sent), len(driver.load.new_ids)
        driver.load.late = driver.load.unsent = 0
        memory = QclusterMemory(children)
        memory.sample()
        load_start = [round(x, 2) for x in os.getloadavg()]

        schedule = plan(args.rate, args.seconds, rng)
        log(f"soak: {args.seconds:g} s at {args.rate:g} events/s ({len(schedule)} actions)...")
        next_sample = time.time() + SAMPLE_EVERY_S

        def tick() -> None:
            nonlocal next_sample
            if time.time() >= next_sample:
                now = memory.sample()
                sent = len(driver.load.sent) - warm_sent
                log(
                    f"  [{now['t'] - memory.samples[0]['t']:>4.0f} s] sent {sent}, broker backlog "
                    f"{depth.read(conn)}, qcluster RSS {now['total'] / 2**20:.0f} MB, "
                    f"load {os.getloadavg()[0]:.2f}"
                )
                next_sample += SAMPLE_EVERY_S

        cpu_before = own_cpu_seconds()
        cpu_start = cpu_by_process(children)
        window_start = run_load(driver, schedule, args.seconds, args.senders, tick)
        window_end = time.time()
        backlog = BacklogProbe(args.database, depth, BACKLOG_AFTER_S)
        driver_cores = (own_cpu_seconds() - cpu_before) / max(window_end - window_start, 1e-9)
        load_end = [round(x, 2) for x in os.getloadavg()]
        drained_in = drain(args.drain, "drain")
        cpu_end = cpu_by_process(children)
        backlog_after = backlog.result()
        memory.sample()
        first_rss, last_rss = memory.samples[0]["total"], memory.samples[-1]["total"]
        events, lost = lost_and_failed(conn, driver, sandbox_url)
        soak_new = driver.load.new_ids[warm_new:]
        rows = fetch_rows(conn, soak_new)
        latencies = [
            r["written"] - r["received"]
            for r in rows.values()
            if r["writeback_status"] == "done" and r["written"] and r["received"]
        ]
        replies = sandbox_replies(sandbox_url, driver.load.new_ids)
        counts = db_counts(conn, soak_new)
        window_sent = driver.load.sent[warm_sent:]
        report = {
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": pg_version,
                "load_average_after_warmup": load_start,
                "load_average_at_window_end": load_end,
            },
            "config": {
                "seconds": args.seconds,
                "rate": args.rate,
                "warmup_s": args.warmup,
                "llm_latency_ms": args.llm_latency_ms,
                "q_workers": args.workers,
                "gunicorn_workers": args.gunicorn_workers,
                "broker": redis_url,
                "insights_quiet_period_s": args.quiet_period,
                "mix_per_s": {a.label: round(a.per_second * args.rate / 100, 2) for a in MIX.values()},
                "wismo_share_of_new": WISMO_SHARE,
            },
            "window_s": round(window_end - window_start, 1),
            "driver_cores": round(driver_cores, 2),
            "drained_in_s": round(drained_in, 1),
            "sent": len(window_sent),
            "sent_by_kind": dict(
                Counter(s.name + (" (repeat)" if s.repeat else "") for s in window_sent).most_common()
            ),
            "acknowledged": sum(1 for s in window_sent if s.status == 200),
            "answers": dict(Counter(s.answer or str(s.status) for s in window_sent)),
            "late_actions": driver.load.late,
            "unsent_actions": driver.load.unsent,
            "action_errors": dict(driver.load.errors),
            "events": events,
            "lost": len(lost),
            "lost_examples": lost[:5],
            "new_conversations": len(soak_new),
            "written_back": len(latencies),
            **counts,
            "replies_sent": sum(replies.values()),
            "duplicate_replies": sum(n - 1 for n in replies.values() if n > 1),
            "conversations_with_duplicate_replies": [c for c, n in replies.items() if n > 1][:5],
            "webhook_to_writeback_s": spread(latencies),
            "writeback_p95_ms": milliseconds(percentile(latencies, 95)),
            "writeback_p99_ms": milliseconds(percentile(latencies, 99)),
            "backlog_after_10s": backlog_after,
            # Window and drain: all the work the window's events caused, per event sent in it.
            "cpu_ms_per_event": {
                label: round(1000 * (used - cpu_start.get(label, 0.0)) / max(len(window_sent), 1), 2)
                for label, used in cpu_end.items()
            },
            "qcluster_memory_growth_pct": round(100 * (last_rss - first_rss) / max(first_rss, 1), 1),
            "memory": memory.samples,
            "messages_server_requests": len(messages.message_requests),
        }
        report["qcluster_warnings"] = [
            line
            for label, child in children.items()
            if label.startswith("qcluster")
            for line in child.warnings()
        ]
    finally:
        STOP.set()
        if conn is not None:
            conn.close()
        product_stop(children)
        if messages is not None:
            messages.stop()
        redis_flush(args.redis_db)
        if args.keep_db:
            log(f"kept database {args.database}")
        else:
            bench_db_drop(args.database)
    report["duration_s"] = round(time.time() - began, 1)
    return report


def report_text(r: dict[str, Any]) -> tuple[str, bool]:
    """The report, and whether every must-be-zero figure is zero."""

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{1000 * value:.0f} ms"

    def mb(value: int) -> str:
        return f"{value / 2**20:.0f}"

    m, c, e, lat = r["machine"], r["config"], r["events"], r["webhook_to_writeback_s"]
    first, last = r["memory"][0], r["memory"][-1]
    growth = r["qcluster_memory_growth_pct"] / 100
    settled = e["by_status"].get("processed", 0) + e["by_status"].get("ignored", 0)
    must_zero = r["lost"] == 0 and r["duplicate_replies"] == 0
    lines = [
        f"soak: {m['cores']} cores, Python {m['python']}, PostgreSQL {m['postgresql']}",
        f"  load average after warm-up {m['load_average_after_warmup']}, "
        f"at the window's end {m['load_average_at_window_end']}",
        f"  {c['seconds']:g} s at {c['rate']:g} events/s after {c['warmup_s']:g} s of warm-up; the model "
        f"answers after {c['llm_latency_ms']} ms; Q_WORKERS={c['q_workers']}, gunicorn "
        f"{c['gunicorn_workers']} sync workers, broker {c['broker']}",
        f"  WISMO policy live; {100 * c['wismo_share_of_new']:g}% of new conversations ask where their "
        "order is; "
        f"insights quiet period {c['insights_quiet_period_s']} s",
        "  mix, events per second:",
        *(f"    {v:>5g}  {k}" for k, v in c["mix_per_s"].items()),
        f"Events sent        {r['sent']} in {r['window_s']:g} s "
        f"({r['sent'] / max(r['window_s'], 1e-9):.1f}/s); "
        f"{r['late_actions']} actions sent more than 1 s behind schedule, {r['unsent_actions']} not sent "
        f"(the window had ended); errors: {r['action_errors'] or 'none'}; "
        f"the senders and the Messages API server used {r['driver_cores']:g} cores",
        f"  by type          {r['sent_by_kind']}",
        f"  acknowledged     {r['acknowledged']} (200; {r['answers']})",
        f"  sandbox echoes   {e['echoes_acknowledged']} of {e['echoes_delivered_by_sandbox']} acknowledged "
        "(our write-backs, replies and escalations coming back as webhooks)",
        f"  stored           {e['stored']} of {e['acknowledged_unique']} acknowledged event ids "
        "(warm-up and echoes included)",
        f"  processed        {settled} (processed {e['by_status'].get('processed', 0)} "
        f"+ ignored {e['by_status'].get('ignored', 0)})",
        f"  failed           {e['failed']}",
        f"  lost             {r['lost']} (acknowledged but not stored or not settled after a drain of "
        f"{r['drained_in_s']:g} s; must be 0) {verdict(r['lost'] == 0)}"
        + (f" e.g. {r['lost_examples']}" if r["lost_examples"] else ""),
        f"Conversations      {r['new_conversations']} new: classified {r['conversations_classified']}, "
        f"written back {r['written_back']}",
        f"  auto-reply decisions (verdict or blocking check): {r['autoreply_decisions']}",
        f"  replies by state {r['autoreplies_by_status']}; escalations {r['escalations']}"
        + (f"; reply errors {r['reply_errors']}" if r["reply_errors"] else ""),
        f"  analyses         {r['analyses_by_status']}",
        f"  replies sent     {r['replies_sent']} (messages sent from our drafts, read at the sandbox; "
        "warm-up included)",
        f"  duplicate replies {r['duplicate_replies']} (conversations with more than one; must be 0) "
        f"{verdict(r['duplicate_replies'] == 0)}"
        + (f" e.g. {r['conversations_with_duplicate_replies']}" if r["duplicate_replies"] else ""),
        f"Webhook -> write-back p50 {ms(lat['p50'])}, p95 {ms(lat['p95'])}, p99 {ms(lat['p99'])}, "
        f"max {ms(lat['max'])}",
        f"Broker backlog     {r['backlog_after_10s']} tasks still queued {BACKLOG_AFTER_S:g} s after the "
        "window ended",
        "CPU ms per event sent, window and drain, by process tree: "
        + ", ".join(f"{label} {value:g}" for label, value in r["cpu_ms_per_event"].items()),
        f"qcluster memory    RSS summed over the process tree: start {mb(first['total'])} MB, end "
        f"{mb(last['total'])} MB, growth {100 * growth:+.1f}% (target under {100 * MEMORY_GROWTH_TARGET:g}%) "
        f"{verdict(growth < MEMORY_GROWTH_TARGET)}",
        f"  PSS (shared pages counted once): start {mb(first['pss_total'])} MB, "
        f"end {mb(last['pss_total'])} MB",
        f"  RSS series, MB every {SAMPLE_EVERY_S:g} s: " + " ".join(mb(s["total"]) for s in r["memory"]),
        "  per process, RSS MB at start -> end (a recycled worker comes back with a new pid):",
    ]
    start, end = first["processes"], last["processes"]
    for name in sorted(
        set(start) | set(end), key=lambda n: (n.split()[0], ROLE_ORDER.index(n.split()[1]), int(n.split()[2]))
    ):
        before = mb(start[name]) if name in start else "-"
        after = mb(end[name]) if name in end else "-"
        lines.append(f"    {name:<26} {before:>5} -> {after:>5}")
    if r["qcluster_warnings"]:
        lines += ["qcluster warnings (last):", *r["qcluster_warnings"]]
    lines.append(
        f"Must-be-zero figures {'all zero' if must_zero else 'NOT all zero'}; took {r['duration_s']:g} s"
    )
    return "\n".join(lines), must_zero


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the soak window (300)")
    parser.add_argument("--rate", type=float, default=100.0, help="webhook events sent per second (100)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the same load before (30)")
    parser.add_argument("--llm-latency-ms", type=int, default=500, help="model answer time (500)")
    parser.add_argument(
        "--workers",
        type=int,
        default=12,
        help="decision-lane qcluster workers (12); the event and background lanes get a third and a quarter",
    )
    parser.add_argument("--gunicorn-workers", type=int, default=3, help="gunicorn sync workers (3)")
    parser.add_argument("--senders", type=int, default=24, help="sender threads (24)")
    parser.add_argument("--drain", type=float, default=600.0, help="longest wait for the backlog after (600)")
    parser.add_argument("--quiet-period", type=int, default=60, help="INSIGHTS_QUIET_PERIOD_SECONDS (60)")
    parser.add_argument(
        "--redis-db", type=int, default=5, help="Redis database, flushed before and after (5)"
    )
    parser.add_argument(
        "--database", default=SOAK_DB, help=f"PostgreSQL database, dropped and recreated ({SOAK_DB})"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    args = parser.parse_args()
    if min(args.seconds, args.rate, args.workers, args.senders, args.gunicorn_workers) <= 0:
        parser.error("--seconds, --rate, --workers, --senders and --gunicorn-workers must be positive")
    return args


def main() -> int:
    args = parse_args()

    report = run_or_exit(lambda: soak(args), cleaned_up="every process stopped and the database dropped")
    text, must_zero = report_text(report)
    print(json.dumps(report, indent=2) if args.json else text)
    return 0 if must_zero else 1


if __name__ == "__main__":
    sys.exit(main())
