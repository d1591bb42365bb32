"""Benchmark backtests: wall time, tokens and cost for N past conversations with each provider.

A throw-away SQLite database is filled straight from the sandbox's history generator (the same
conversations `history=N` seeds), labelled with the sandbox's intended labels, and the local
classifier is trained as on a fresh install. Claude is the local Messages API server
(`--latency-ms` per direct call): its tokens are counted as the real API would, costs are computed.
Prints one JSON object; nothing leaves the machine.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--providers", default="local,claude,cascade,claude-direct")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="Each direct Claude call waits this long."
    )
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench_backtest_")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bearscope.settings.local")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.conf import settings
    from django.core.management import call_command

    from bearscope.testing.messages_server import MessagesServer
    from classification.local.services import local_model_train
    from classification.models import ImportedLabel, Intent
    from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read
    from intelligence.backtests.running import backtest_create, backtest_run
    from intelligence.tests.history import history_mirror
    from kustomer.models import Conversation

    call_command("migrate", verbosity=0)
    taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))
    started = time.monotonic()
    local_model_train(trained_by="bench")
    train_seconds = time.monotonic() - started
    labels = history_mirror(args.conversations)
    intents = {i.key: i for i in Intent.objects.filter(parent__isnull=True)}
    subs = {
        (s.parent.key, s.key): s for s in Intent.objects.filter(parent__isnull=False).select_related("parent")
    }
    pks = dict(Conversation.objects.values_list("kustomer_id", "pk"))
    ImportedLabel.objects.bulk_create(
        ImportedLabel(
            conversation_id=pks[cid],
            intent=intents[label["intent"]],
            sub_intent=subs.get((label["intent"], label["sub_intent"])),
            source="sandbox labels.csv",
        )
        for cid, label in labels.items()
        if label["intent"] in intents
    )
    since = Conversation.objects.order_by("kustomer_created_at").first().kustomer_created_at.date()
    results = {
        "conversations": args.conversations,
        "labelled": ImportedLabel.objects.count(),
        "local_train_seconds": round(train_seconds, 1),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": {},
    }
    server = MessagesServer(latency_ms=args.latency_ms)
    settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL = "bench", server.base_url
    try:
        for name in args.providers.split(","):
            provider, _, direct = name.partition("-")
            backtest = backtest_create(provider=provider, since=since, name=name, batch=not direct)
            started = time.monotonic()
            backtest = backtest_run(backtest_pk=backtest.pk, poll_seconds=0.2)
            report = backtest.report
            results["runs"][name] = {
                "seconds": round(time.monotonic() - started, 1),
                "model": backtest.configuration.get("model") or backtest.configuration.get("local_model"),
                **{
                    key: report[key]
                    for key in (
                        "conversations",
                        "accuracy",
                        "sub_intent_accuracy",
                        "auto_share",
                        "auto_accuracy",
                        "ece",
                        "cost_usd",
                        "input_tokens",
                        "output_tokens",
                        "cache_read_tokens",
                        "cache_creation_tokens",
                    )
                },
                "claude_answers": backtest.items.filter(provider="claude").count(),
            }
            print(name, json.dumps(results["runs"][name]), file=sys.stderr)
    finally:
        server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
