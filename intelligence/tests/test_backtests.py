"""Backtests: figures known exactly on a hand-built set, replays over the sandbox's history, commands."""

import csv
import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from bearscope.llm import BATCH_FACTOR, Usage, cost_usd
from classification.local.services import local_model_train
from classification.models import ClassifierSettings, ContactReasonMapping, Intent
from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read
from intelligence.backtests.metrics import Row, backtest_figures
from intelligence.backtests.running import backtest_create, backtest_run
from intelligence.models import Backtest
from kustomer.models import Conversation
from kustomer.sandbox.history import CONTACT_REASON, contact_reasons

from .history import history_mirror

pytestmark = pytest.mark.django_db
SINCE = (timezone.now() - timedelta(days=100)).date()


def row(intent, confidence, route, label="", sub="", label_sub=""):
    return Row(
        intent=intent,
        sub_intent=sub,
        confidence=confidence,
        route=route,
        label_intent=label,
        label_sub_intent=label_sub,
    )


def test_figures_on_a_hand_built_set_are_exact():
    rows = [
        # band 0.90-0.95: two right of two at mean 0.92 -> gap 0.08
        row("a", 0.92, "auto", "a", "x", "x"),
        row("a", 0.92, "auto", "a", "y", "x"),
        # band 0.95-1: one right, one wrong at mean 0.98 -> gap 0.48
        row("b", 0.98, "auto", "b"),
        row("b", 0.98, "auto", "a"),
        # band 0.50-0.60: none right at 0.5 -> gap 0.5
        row("c", 0.5, "triage", "a"),
        # unlabelled: counts in the auto share only
        row("c", 0.99, "auto"),
        row("", None, "triage"),
        row("c", 0.6, "triage"),
    ]
    figures = backtest_figures(rows)
    assert figures["conversations"] == 8
    assert figures["labelled"] == 5
    assert figures["accuracy"] == 0.6  # 3 of 5
    assert figures["sub_intent_labelled"] == 2 and figures["sub_intent_accuracy"] == 0.5
    assert figures["auto_share"] == 0.625  # 5 of 8
    assert figures["auto_labelled"] == 4 and figures["auto_accuracy"] == 0.75
    # ECE = 2/5 * 0.08 + 2/5 * 0.48 + 1/5 * 0.5
    assert figures["ece"] == pytest.approx(0.324, abs=1e-4)
    bands = {band["band"]: band for band in figures["calibration"]}
    assert bands["0.90 to 0.95"] == {
        "band": "0.90 to 0.95",
        "count": 2,
        "confidence": 0.92,
        "accuracy": 1.0,
        "gap": -0.08,
    }
    assert bands["0.95 to 1.00"]["accuracy"] == 0.5 and bands["0.60 to 0.70"]["count"] == 0
    assert figures["per_intent"][0] == {"intent": "a", "count": 4, "correct": 2, "accuracy": 0.5}
    assert figures["confused"] == [
        {"label": "a", "predicted": "b", "count": 1},
        {"label": "a", "predicted": "c", "count": 1},
    ]
    assert figures["no_answer"] == 1


def test_no_labels_no_accuracy():
    figures = backtest_figures([row("a", 0.9, "auto")])
    assert (figures["accuracy"], figures["auto_accuracy"], figures["ece"]) == (None, None, None)
    assert figures["auto_share"] == 1.0


@pytest.fixture
def default_taxonomy(db):
    taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))


@pytest.fixture
def contact_reason_mappings(default_taxonomy):
    for value, label in contact_reasons().items():
        if not label["intent"]:
            continue
        intent = Intent.objects.get(key=label["intent"], parent__isnull=True)
        sub = intent.sub_intents.get(key=label["sub_intent"]) if label["sub_intent"] else None
        ContactReasonMapping.objects.create(
            attribute=CONTACT_REASON, value=value, intent=intent, sub_intent=sub
        )


@pytest.fixture
def trained(default_taxonomy):
    return local_model_train(trained_by="test")


def test_a_local_backtest_over_the_history_measures_against_contact_reasons(
    trained, contact_reason_mappings, kustomer_sandbox
):
    history_mirror(80)
    requests.post(kustomer_sandbox.url("/_sandbox/requests/reset"), timeout=5)
    backtest = backtest_create(provider="local", since=SINCE)
    backtest = backtest_run(backtest_pk=backtest.pk)
    report = backtest.report
    assert backtest.status == "done" and report["conversations"] == 80
    assert 30 < report["labelled"] < 80  # agents set a contact reason on most, not all
    assert report["accuracy"] > 0.5
    assert 0 < report["auto_share"] < 1
    assert report["cost_usd"] == 0
    assert backtest.configuration["local_model"] == f"local model v{trained.pk}"
    assert not Conversation.objects.filter(classifications__isnull=False).exists()  # live results untouched
    log = requests.get(kustomer_sandbox.url("/_sandbox/requests"), timeout=5).json()
    assert (log["total"], log["writes"]) == (0, 0)


def sandbox_log(sandbox) -> dict:
    return requests.get(sandbox.url("/_sandbox/requests"), timeout=5).json()


def test_claude_through_one_message_batch_at_half_price(default_taxonomy, messages_server, kustomer_sandbox):
    history_mirror(12)
    requests.post(kustomer_sandbox.url("/_sandbox/requests/reset"), timeout=5)
    backtest = backtest_run(backtest_pk=backtest_create(provider="claude", since=SINCE).pk, poll_seconds=0)
    posts = [r["path"] for r in messages_server.requests if r["method"] == "POST"]
    assert posts == ["/v1/messages/batches"]  # one batch, no direct call
    assert len(backtest.batch_ids) == 1 and backtest.status == "done"
    model = ClassifierSettings.load().model_id
    total = Decimal("0")
    for item in backtest.items.all():
        usage = Usage(
            item.input_tokens, item.output_tokens, item.cache_creation_tokens, item.cache_read_tokens
        )
        assert item.input_tokens > 0 and item.intent
        assert item.cost_usd == pytest.approx(cost_usd(model, usage) * BATCH_FACTOR, abs=Decimal("1e-8"))
        total += item.cost_usd
    assert backtest.report["cost_usd"] == pytest.approx(float(total)) and total > 0
    assert backtest.report["conversations"] == 12
    assert (sandbox_log(kustomer_sandbox)["writes"], sandbox_log(kustomer_sandbox)["total"]) == (0, 0)


def test_without_batch_claude_is_called_directly_at_full_price(default_taxonomy, messages_server):
    history_mirror(3)
    backtest = backtest_create(provider="claude", since=SINCE, batch=False)
    backtest = backtest_run(backtest_pk=backtest.pk)
    posts = [r["path"] for r in messages_server.requests if r["method"] == "POST"]
    assert posts == ["/v1/messages"] * 3
    item = backtest.items.first()
    usage = Usage(item.input_tokens, item.output_tokens, item.cache_creation_tokens, item.cache_read_tokens)
    full_price = cost_usd(ClassifierSettings.load().model_id, usage)
    assert item.cost_usd == pytest.approx(full_price, abs=Decimal("1e-8"))


def test_a_cascade_asks_claude_only_when_the_local_classifier_is_unsure(trained, messages_server):
    history_mirror(30)
    backtest = backtest_run(backtest_pk=backtest_create(provider="cascade", since=SINCE).pk, poll_seconds=0)
    providers = [item.provider for item in backtest.items.all()]
    asked = sum(
        len(r["body"]["requests"])
        for r in messages_server.requests
        if r["path"] == "/v1/messages/batches" and r["method"] == "POST"
    )
    assert providers.count("claude") == asked > 0
    assert providers.count("local") > 0
    assert backtest.configuration["cascade_threshold"] == "0.950"


def run_command(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("backtest_run", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_the_command_prints_json_and_the_export_neutralises_formulas(
    trained, contact_reason_mappings, tmp_path
):
    history_mirror(20)
    Conversation.objects.filter(pk=Conversation.objects.order_by("kustomer_created_at").first().pk).update(
        kustomer_id="=HYPERLINK(1)"
    )
    data = json.loads(run_command("--since", SINCE.isoformat(), "--json", "--name", "weekly"))
    assert {
        "run_id",
        "conversations",
        "labelled",
        "accuracy",
        "sub_intent_accuracy",
        "auto_share",
        "auto_accuracy",
        "ece",
        "cost_usd",
    } <= data.keys()
    assert data["conversations"] == 20 and Backtest.objects.get(pk=data["run_id"]).name == "weekly"
    path = tmp_path / "rows.csv"
    call_command("backtest_export", str(data["run_id"]), str(path), stdout=StringIO())
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 20
    assert list(rows[0]) == [
        "conversation",
        "predicted_intent",
        "predicted_sub_intent",
        "confidence",
        "route",
        "label_intent",
        "label_sub_intent",
    ]
    assert rows[0]["conversation"] == "'=HYPERLINK(1)"
    assert sum(1 for r in rows if r["label_intent"]) == data["labelled"]


def test_the_command_says_what_is_wrong(default_taxonomy, settings):
    settings.ANTHROPIC_API_KEY = ""
    with pytest.raises(CommandError, match="not a date"):
        run_command("--since", "last week")
    with pytest.raises(CommandError, match="No active local classifier"):
        run_command("--since", "2026-01-01")
    with pytest.raises(CommandError, match="ANTHROPIC_API_KEY"):
        run_command("--since", "2026-01-01", "--provider", "claude")
    with pytest.raises(CommandError, match="No backtest 999"):
        call_command("backtest_export", "999", "x.csv")


def test_an_empty_mirror_says_to_import_the_history(trained):
    out = run_command("--since", SINCE.isoformat())
    assert "import the history first" in out and "kustomer_import" in out


def test_the_admin_starts_a_backtest_on_a_worker(trained, admin_client, django_capture_on_commit_callbacks):
    history_mirror(5)
    add = reverse("admin:intelligence_backtest_add")
    refused = admin_client.post(
        add, {"name": "x", "provider": "claude", "since": SINCE.isoformat(), "batch": "on"}
    )
    assert refused.status_code == 200 and "ANTHROPIC_API_KEY" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            add, {"name": "From the admin", "provider": "local", "since": SINCE.isoformat()}
        )
    backtest = Backtest.objects.get(name="From the admin")
    assert response.status_code == 302 and response.url == reverse("backtests:detail", args=[backtest.pk])
    assert backtest.status == "done" and backtest.report["conversations"] == 5  # the worker ran it
    change = admin_client.get(reverse("admin:intelligence_backtest_change", args=[backtest.pk]))
    assert "Open the report" in change.content.decode()


def test_a_worker_stops_at_its_time_budget_and_the_next_one_goes_on(trained):
    history_mirror(6)
    backtest = backtest_create(provider="local", since=SINCE)
    backtest = backtest_run(backtest_pk=backtest.pk, time_budget=1e-9)
    assert (backtest.status, backtest.lease_until, backtest.report) == ("running", None, {})
    assert backtest_run(backtest_pk=backtest.pk).report["conversations"] == 6


def test_a_running_backtest_held_by_a_worker_is_not_taken_twice(trained):
    backtest = backtest_create(provider="local", since=SINCE)
    Backtest.objects.filter(pk=backtest.pk).update(
        status="running", lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert backtest_run(backtest_pk=backtest.pk).report == {}
    Backtest.objects.filter(pk=backtest.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert backtest_run(backtest_pk=backtest.pk).status == "done"  # the dead worker's lease expired
