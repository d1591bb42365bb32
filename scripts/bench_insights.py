"""Benchmark the insight dashboards on PostgreSQL at growing sizes of synthetic history: p50/p95 per page.

Each size adds synthetic conversations to the same database (10k, then 90k more for 100k, ...),
rebuilds the rollups, runs ANALYZE, then requests every page through Django's test client as a
signed-in ops leader (the full view, queries and template; no HTTP server), with the default
range (the last 30 days) and with filters that force the live (non-rollup) reads.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as `python scripts/bench_insights.py`: the project's packages live beside manage.py.
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bearscope_bench_insights"
P95_TARGET_MS = 500.0
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="10k,100k", help="comma-separated sizes among 10k, 100k, 1m, or numbers (10k,100k)"
    )
    parser.add_argument("--requests", type=int, default=30, help="requests per page and size (30)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep", action="store_true", help="keep the data already in the database")
    return parser.parse_args()


def sizes_from(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        sizes.append(SIZES[part] if part in SIZES else int(part.replace("_", "")))
    return sorted(set(sizes))


def database_reset(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(share * (len(ordered) - 1)), len(ordered) - 1)]


def main() -> int:
    args = parse_args()
    sizes = sizes_from(args.sizes)
    if not args.database_url.startswith("postgres"):
        print("bench-insights runs on PostgreSQL: pass --database-url postgres://...", file=sys.stderr)
        return 2
    if not args.keep:
        database_reset(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bearscope.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"  # no query log in memory, as in production

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from intelligence.models import ConversationAnalysis
    from intelligence.tests.factories import ops_leader

    call_command("migrate", verbosity=0)
    leader = ops_leader(f"bench-{random.randint(0, 10**9)}")
    client = Client(HTTP_HOST="localhost")
    client.force_login(leader)
    overview, conversations = reverse("intelligence:overview"), reverse("intelligence:conversations")

    def page(name: str) -> str:
        return reverse("intelligence:dashboard", args=[name])

    results: dict[int, dict[str, tuple[float, float]]] = {}
    for size in sizes:
        have = ConversationAnalysis.objects.count()
        if have < size:
            print(f"\n== {size:,} conversations: adding {size - have:,} ==", flush=True)
            started = time.monotonic()
            call_command(
                "insights_synthesize",
                conversations=size - have,
                seed=size,
                stdout=sys.stdout,
                stderr=sys.stderr,
            )
            print(f"synthesized in {time.monotonic() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        agents = list(ConversationAnalysis.objects.values_list("agent", flat=True).distinct()[:40])
        intents = list(ConversationAnalysis.objects.values_list("intent", flat=True).distinct()[:10])
        rng = random.Random(size)
        year_ago = (timezone.now() - timedelta(days=364)).date().isoformat()
        # name -> (path, filter to vary or "", fixed params)
        cases = {
            "overview": (overview, "", {}),
            "overview, one intent": (overview, "intent", {}),
            "overview, one agent (live)": (overview, "agent", {}),
            "causes and effort": (page("causes"), "", {}),
            "agents": (page("agents"), "", {}),
            "agents, one intent (live)": (page("agents"), "intent", {}),
            "overview, 1 year": (overview, "", {"start": year_ago}),
            "causes, 1 year": (page("causes"), "", {"start": year_ago}),
            "drill-down (200 newest)": (conversations, "intent", {}),
        }
        choices = {"intent": intents, "agent": agents}
        results[size] = {}
        for name, (path, varied, fixed) in cases.items():
            timings = []
            for n in range(args.requests + 2):
                params = {**fixed, varied: rng.choice(choices[varied])} if varied else fixed
                started = time.perf_counter()
                response = client.get(path, params)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    print(f"{name}: HTTP {response.status_code}", file=sys.stderr)
                    return 1
                if n >= 2:  # the first two warm caches and connections
                    timings.append(elapsed)
            results[size][name] = (statistics.median(timings), percentile(timings, 0.95))
            p50, p95 = results[size][name]
            print(f"{size:>9,}  {name:<28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", flush=True)

    print("\np95 per page (ms); target below", P95_TARGET_MS)
    header = "page".ljust(30) + "".join(f"{size:>12,}" for size in sizes)
    print(header)
    for name in results[sizes[0]]:
        print(name.ljust(30) + "".join(f"{results[size][name][1]:>12.1f}" for size in sizes))
    worst = max(p95 for per_size in results.values() for _, p95 in per_size.values())
    print(f"\nworst p95: {worst:.1f} ms ({'within' if worst < P95_TARGET_MS else 'ABOVE'} the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
