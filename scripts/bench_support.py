"""What the benchmark scripts share: output, databases, the product's processes, load texts, results."""

import json
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import redis
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# Run from scripts/: the project's plain-Python helpers (no Django set-up) live beside manage.py.
sys.path.insert(0, str(ROOT))

from bearscope.lanes import BACKGROUND, CLUSTERS  # noqa: E402  (needs ROOT on the path)
from bearscope.testing.processes import Child  # noqa: E402
from bearscope.testing.processes import free_port as free_port  # noqa: E402  (the scripts take it from here)
from bearscope.testing.processes import manage as manage  # noqa: E402
from bearscope.testing.processes import product_env as harness_env  # noqa: E402

SEED = ROOT / "kustomer" / "sandbox" / "seed.json"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
WEBHOOK_PATH = "/webhooks/kustomer/"
R = TypeVar("R")
T = TypeVar("T")
STOP = threading.Event()  # set on Ctrl-C / SIGTERM so sender threads and waits end promptly

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
LOOPBACK = "127.0.0.1"
PROG = Path(sys.argv[0]).stem.replace("_", "-")  # bench-intake, bench-classify, soak


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the report (or the JSON)."""
    print(message, file=sys.stderr, flush=True)


def run_or_exit(run: Callable[[], R], *, cleaned_up: str) -> R:
    """run(), with SIGTERM taking Ctrl-C's clean-up path; interrupted (130) or failed with a
    RuntimeError (1), the script exits saying so on stderr."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return run()
    except KeyboardInterrupt:
        log(f"{PROG}: interrupted; {cleaned_up}")
        raise SystemExit(130) from None
    except RuntimeError as exc:
        log(f"{PROG}: {exc}")
        raise SystemExit(1) from None


def pg_connect(dbname: str) -> psycopg.Connection:
    """An autocommit connection as the postgres user, or exit naming what is missing."""
    try:
        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as exc:
        sys.exit(
            f"{PROG}: PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as user '{PG_USER}' "
            f"(trust auth expected): {str(exc).strip()}\n"
            "Start it (e.g. `pg_ctlcluster 15 main start` or a postgres container) and run again."
        )


def bench_db_recreate(name: str) -> str:
    """Drop and create the bench database; returns the server version."""
    with pg_connect("postgres") as conn:
        # FORCE: a previous run killed mid-way may have left connections behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return str(conn.execute("SHOW server_version").fetchone()[0])


def bench_db_drop(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(name: str, options: str) -> str:
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    return f"{url}?{options}" if options else url


# --- PostgreSQL and Redis -------------------------------------------------------------------


def redis_url_for(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_flush(db: int) -> bool:
    """Empty our Redis database; False when Redis does not answer (the database broker is used then)."""
    try:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_connect_timeout=1)
        client.flushdb()
        client.close()
    except redis.RedisError:
        return False
    return True


class QueueDepth:
    """Tasks waiting in the broker: the first place to look when a run falls behind."""

    def __init__(self, broker: str, redis_db: int) -> None:
        self.broker = broker
        self.redis = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db) if broker == "redis" else None

    def read(self, conn: psycopg.Connection) -> int:
        if self.redis is not None:
            # django-q2's Redis broker keeps one list per cluster, django_q:<cluster>:q: one per lane.
            return sum(int(self.redis.llen(f"django_q:{cluster}:q")) for cluster in CLUSTERS.values())
        # Rows in the ORM broker's table that no worker has locked yet.
        return int(conn.execute("SELECT count(*) FROM django_q_ormq WHERE lock <= now()").fetchone()[0])


# --- child processes ----------------------------------------------------------------------


def venv_bin(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / name)


def broker_choose(choice: str, redis_db: int) -> tuple[str, str]:
    """("redis" | "orm", REDIS_URL) for --broker auto|redis|orm; auto takes Redis when it answers."""
    if choice == "orm":
        broker = "orm"
    elif redis_flush(redis_db):
        broker = "redis"
    elif choice == "redis":
        raise RuntimeError(f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT} (--broker redis)")
    else:
        broker = "orm"
    redis_url = redis_url_for(redis_db) if broker == "redis" else ""
    log(
        f"broker: {'Redis ' + redis_url if broker == 'redis' else 'the database (django-q2 ORM broker)'}"
        + (" (Redis did not answer)" if broker == "orm" and choice == "auto" else "")
    )
    return broker, redis_url


def product_start(
    children: dict[str, Child],
    env: dict[str, str],
    *,
    sandbox_port: int,
    web_port: int,
    gunicorn_workers: int,
) -> None:
    """Start the sandbox, gunicorn and qcluster into `children`, wait for both servers, subscribe the
    webhook. The caller's dict, so that its product_stop also ends what started before a failure."""
    python_manage = [sys.executable, str(ROOT / "manage.py")]
    children["sandbox"] = Child(
        "Kustomer sandbox",
        [
            *python_manage, "kustomer_sandbox", "--port", str(sandbox_port),
            "--api-key", env["KUSTOMER_API_KEY"], "--rate-limit", env["KUSTOMER_RATE_LIMIT_PER_MINUTE"],
        ],
        env,
    )  # fmt: skip
    children["gunicorn"] = Child(
        "web server (gunicorn)",
        [
            venv_bin("gunicorn"), "bearscope.wsgi:application",
            "--bind", f"{LOOPBACK}:{web_port}",
            "--workers", str(gunicorn_workers), "--worker-class", "sync",
            "--log-level", "warning", "--error-logfile", "-", "--chdir", str(ROOT),
        ],
        env,
    )  # fmt: skip
    for lane, cluster in CLUSTERS.items():
        # One qcluster per lane (bearscope.lanes), as deployed; "qcluster" is the background one.
        label = "qcluster" if lane == BACKGROUND else f"qcluster {lane}"
        lane_env = env if lane == BACKGROUND else {**env, "Q_CLUSTER_NAME": cluster}
        children[label] = Child(label, [*python_manage, "qcluster"], lane_env)
    for child in children.values():
        child.start()
    sandbox_url, web_url = f"http://{LOOPBACK}:{sandbox_port}", f"http://{LOOPBACK}:{web_port}"
    children["sandbox"].wait_http(f"{sandbox_url}/_sandbox/stats")
    children["gunicorn"].wait_http(f"{web_url}/healthz")
    # Subscribed like production: our PATCH write-backs come back as conversation.update echoes.
    requests.post(
        f"{sandbox_url}/_sandbox/webhooks",
        json={"url": f"{web_url}{WEBHOOK_PATH}", "secret": env["KUSTOMER_WEBHOOK_SECRET"]},
        timeout=10,
    ).raise_for_status()


def product_stop(children: dict[str, Child]) -> None:
    """The producer first, then the workers, then what they call: nothing left talking to a dead peer."""
    qclusters = [label for label in children if label.startswith("qcluster")]
    for label in ("gunicorn", *qclusters, "sandbox"):
        if label in children:
            children[label].close()


def production_env(*, db_url: str, redis_url: str, **variables: str) -> dict[str, str]:
    """The test harness's production environment on this database and broker, quieter logs, plus
    `variables`."""
    return harness_env(DATABASE_URL=db_url, REDIS_URL=redis_url, LOG_LEVEL="WARNING", **variables)


def product_env(
    *,
    db_url: str,
    redis_url: str,
    sandbox_url: str,
    messages_url: str,
    keys: dict[str, str],
    workers: int,
    events_per_minute: float,
) -> dict[str, str]:
    """The whole product against the sandbox and the local Messages API server."""
    # Budget for PATCHes plus the odd read, so that the benchmark measures the pipeline, not a 429.
    budget = str(max(1000, math.ceil(events_per_minute * 1.5)))
    return production_env(
        db_url=db_url,
        redis_url=redis_url,
        # `workers` for the decision lane, which waits on the model; the others do short database work.
        Q_DECISIONS_WORKERS=str(workers),
        Q_EVENTS_WORKERS=str(max(2, workers // 3)),
        Q_WORKERS=str(max(2, workers // 4)),
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=messages_url,
        KUSTOMER_API_BASE_URL=sandbox_url,
        KUSTOMER_API_KEY=keys["api_key"],
        KUSTOMER_WEBHOOK_SECRET=keys["secret"],
        KUSTOMER_RATE_LIMIT_PER_MINUTE=budget,
    )


# --- processes --------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[str, int, float, float]]:
    """pid -> (command, parent pid, own CPU seconds, reaped children's CPU seconds)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue  # exited while we looked
        command, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        # utime + stime, then cutime + cstime: a process that exits moves its time to its parent.
        own, reaped = int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])
        table[int(entry.name)] = (command, int(rest[1]), own / CLOCK_TICKS, reaped / CLOCK_TICKS)
    return table


def proc_cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


# --- load -------------------------------------------------------------------------------

# The keyword responder of the messages server picks the intent of the first keyword found in the
# customer's text, so the texts below spread over most of the default taxonomy's intents.
KEYWORD_INTENTS = {
    "where is my order": "shipping_issue",
    "where's my order": "shipping_issue",
    "tracking": "shipping_issue",
    "shipping": "shipping_issue",
    "password": "account_access",
    "log in": "account_access",
    "two-factor": "account_access",
    "address": "manage_account",
    "phone number": "manage_account",
    "cancel": "order_issue",
    "charged twice": "order_issue",
    "quantity": "order_issue",
    "cracked": "product_defect",
    "broken": "product_defect",
    "refund": "product_defect",
    "wrong size": "product_defect",
    "promo code": "purchase_dispute",
    "price": "purchase_dispute",
    "out of stock": "purchase_dispute",
    "subscription": "subscription_inquiry",
    "membership": "storewide_query",
    "opening hours": "storewide_query",
    "return policy": "storewide_query",
    "checkout": "troubleshoot_site",
    "cart": "troubleshoot_site",
    "website": "troubleshoot_site",
    "boots": "single_item_query",
    "jacket": "single_item_query",
    "jeans": "single_item_query",
}

# {order} is replaced by one of the customer's orders in the sandbox (or a made-up number).
TEXTS = [
    ("Where is my order {order}?", "Hi, where is my order {order}? The tracking hasn't moved in four days."),
    ("Late delivery", "Hey, where's my order? I paid for express shipping on {order} and it's been a week."),
    ("Tracking link broken", "Any update on {order}? It shipped Monday but the tracking link doesn't work."),
    ("Can't log in", "I can't log in to my account. The password reset email never arrives, tried 3 times."),
    ("2FA", "I got a new phone and now the two-factor code never comes. Please help me get back in."),
    (
        "Change address",
        "I just placed order {order} but used my old address. Can you change it to 2150 Mission St?",
    ),
    ("New phone number", "Please update the phone number on my account to 415-555-0199, thanks."),
    (
        "Cancel please",
        "Please cancel order {order}, I ordered the wrong colour by mistake. It still says processing.",
    ),
    ("Charged twice", "My card was charged twice for {order}. Can you fix that and refund the extra charge?"),
    (
        "Cracked kettle",
        "My order {order} arrived today and the kettle is cracked down the side. Box looked fine.",
    ),
    ("Broken zip", "The zip on the backpack from {order} is broken after one week. What can you do?"),
    ("Refund status", "I returned the duvet cover from {order} two weeks ago. When will I see my refund?"),
    (
        "Wrong size",
        "The running jacket from {order} is a size M but I ordered an L - wrong size, how do I swap it?",
    ),
    (
        "Promo code",
        "The promo code SUMMER20 says it's invalid at checkout but your email said it's still good.",
    ),
    (
        "Price drop",
        "I bought boots yesterday and today the price is 20% lower. Can I get the difference back?",
    ),
    ("Out of stock", "The linen shirt in blue has been out of stock for a month. Will it come back?"),
    ("Subscription", "How do I pause my subscription box for two months while I'm travelling?"),
    ("Membership", "What does the gold membership include, and is shipping free with it?"),
    ("Opening hours", "What are the opening hours of your store in Portland over the holidays?"),
    ("Return policy", "What's your return policy for sale items? I want to buy a gift."),
    ("Checkout error", "Your website keeps timing out at checkout when I enter my card. Tried two browsers."),
    ("Cart empties", "Every time I add something to my cart it empties itself after a minute."),
    ("Boots sizing", "Do the Ridge hiking boots run small? I'm usually a 42 in trainers."),
    ("Jeans fit", "Are the slim jeans stretchy? Between a 30 and a 32 waist."),
    ("Hola", "Hola, hice el pedido {order} hace dos semanas y todavía no ha llegado. ¿Dónde está?"),
    ("Question", "hi, quick question about my order {order}, who do I talk to about it"),
]


class Catalogue:
    """Realistic customer texts: the sandbox seed's first inbound messages and the list above,
    with the order numbers of the customer who writes, so entity extraction sees real ones."""

    def __init__(self, sandbox_state: dict[str, Any], rng: random.Random) -> None:
        self.rng = rng
        self.customers = sorted(sandbox_state["customers"])
        self.orders: dict[str, list[str]] = {}
        for order, customer in sandbox_state.get("orders", {}).items():
            self.orders.setdefault(customer, []).append(order)
        seed = json.loads(SEED.read_text())
        self.texts = list(TEXTS)
        for conv in seed["conversations"]:
            inbound = [m["text"] for m in conv.get("messages", []) if m.get("direction") == "in"]
            if inbound and conv.get("subject"):
                self.texts.append((conv["subject"], inbound[0]))

    def draw(self) -> tuple[str, str, str, str]:
        """(subject, text, customer id, channel)"""
        subject, text = self.rng.choice(self.texts)
        customer = self.rng.choice(self.customers)
        order = self.rng.choice(self.orders.get(customer) or [f"BS-{self.rng.randint(100000, 109999)}"])
        channel = self.rng.choice(["email", "email", "chat", "sms"])
        return subject.format(order=order), text.format(order=order), customer, channel


def send_on_schedule(
    items: Iterable[T],
    due: Callable[[T], float],
    send: Callable[[T], object],
    *,
    threads: int,
    give_up_at: float = math.inf,
    on_tick: Callable[[], object] = lambda: None,
    name: str = "send",
) -> int:
    """Send each item at its `due` time (epoch seconds; items in that order) from `threads` threads:
    open loop, so a lagging system delays no later send beyond its own. An item whose time comes
    after `give_up_at` is counted, not sent, so the window stays as long as asked; returns that
    count. `on_tick` runs about once a second meanwhile."""
    cursor = iter(items)
    lock = threading.Lock()
    unsent = 0

    def loop() -> None:
        nonlocal unsent
        while not STOP.is_set():
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            wait = due(item) - time.time()
            if wait > 0 and STOP.wait(wait):
                return
            if time.time() > give_up_at:
                with lock:
                    unsent += 1
                continue
            send(item)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        futures = [pool.submit(loop) for _ in range(threads)]
        while futures_wait(futures, timeout=1.0).not_done:
            on_tick()
    for future in futures:
        future.result()  # a sender that died of a bug must not pass for a quiet run
    return unsent


# --- reading results ------------------------------------------------------------------------

RESULT_SQL = """
SELECT conv.kustomer_id,
       ev.received_at, ev.processed_at,
       c.created_at, c.started_at, c.classified_at, c.written_back_at,
       c.status, c.writeback_status, c.route, c.route_reason, c.latency_ms,
       c.input_tokens, c.cache_read_tokens, c.cache_creation_tokens, c.output_tokens,
       conv.id, c.id, intent.key
FROM kustomer_conversation conv
LEFT JOIN classification_classification c ON c.conversation_id = conv.id AND c.current
LEFT JOIN classification_intent intent ON intent.id = c.intent_id
LEFT JOIN LATERAL (
    SELECT e.received_at, e.processed_at FROM kustomer_webhookevent e
    WHERE e.conversation_id = conv.kustomer_id AND e.name = 'kustomer.message.create'
    ORDER BY e.received_at LIMIT 1
) ev ON true
WHERE conv.kustomer_id = ANY(%s)
"""


def epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def fetch_rows(conn: psycopg.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    columns = [
        *("kustomer_id", "received", "processed", "created", "started", "classified", "written"),
        *("status", "writeback_status", "route", "route_reason", "latency_ms"),
        *(
            "input",
            "cache_read",
            "cache_creation",
            "output",
            "conversation_pk",
            "classification_pk",
            "intent",
        ),
    ]
    rows = {}
    for record in conn.execute(RESULT_SQL, (ids,)).fetchall():
        row = dict(zip(columns, record, strict=True))
        for key in ("received", "processed", "created", "started", "classified", "written"):
            row[key] = epoch(row[key])
        rows[row["kustomer_id"]] = row
    return rows


def wait_written(conn: psycopg.Connection, ids: list[str], timeout: float, tick: Callable[[], None]) -> bool:
    """Until every listed conversation is written back, or timeout; `tick` runs about once a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not STOP.is_set():
        done = conn.execute(
            "SELECT count(*) FROM classification_classification c JOIN kustomer_conversation conv "
            "ON conv.id = c.conversation_id WHERE c.current AND c.writeback_status = 'done' "
            "AND conv.kustomer_id = ANY(%s)",
            (ids,),
        ).fetchone()[0]
        if done >= len(ids):
            return True
        tick()
        STOP.wait(1.0)
    return False


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def spread(values: list[float]) -> dict[str, float | None]:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
    }
