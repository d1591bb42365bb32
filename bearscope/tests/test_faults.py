"""Fault injection on real processes: killed workers, a restarted database, Kustomer and Claude failing."""

import copy
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import psycopg
import requests
from django.core.management import call_command

from autoreply.models import AutoReply, AutoReplyPolicy, Mode
from autoreply.starter import starter_load
from bearscope.testing.messages_server import error, hang
from bearscope.testing.processes import PrivatePostgres
from classification.local.services import local_model_train
from classification.models import Classification
from kustomer.models import Conversation, WebhookEvent
from kustomer.sandbox.webhooks import deliver
from kustomer.tests.sandbox_fixtures import CUSTOMER_ID

from .conftest import POSTGRES_ONLY

pytestmark = [POSTGRES_ONLY]


def mirrored(stack, conversation_id: str) -> Conversation:
    return stack.wait_for(
        lambda: Conversation.objects.filter(kustomer_id=conversation_id).first(),
        timeout=30,
        what=f"conversation {conversation_id} mirrored",
    )


def test_a_worker_killed_mid_classification_leaves_one_classification_and_one_write_back(make_stack):
    stack = make_stack()
    call_command("taxonomy_load", stdout=StringIO())
    stack.messages.script(hang(60))  # the first model call never answers: its worker is killed meanwhile
    stack.web()
    cluster = stack.qcluster()
    conversation_id = stack.new_conversation()
    task = f"classify-{mirrored(stack, conversation_id).pk}"
    pid = stack.wait_for(
        lambda: stack.messages.message_requests and cluster.worker_running(task),
        timeout=30,
        what="the classification's model call in flight",
    )
    cluster.kill_worker(pid)
    killed = time.monotonic()
    stack.wait_for(
        lambda: Classification.objects.filter(writeback_status="done").exists(),
        timeout=60,
        what="the classification finished by another worker and written back",
    )
    recovery = time.monotonic() - killed
    classification = Classification.objects.get()
    assert (classification.status, classification.route, classification.current) == ("done", "auto", True)
    assert len(stack.messages.message_requests) == 2  # the killed call, then the redelivered task's
    assert stack.writes(f"PATCH /v1/conversations/{conversation_id}") == 1
    assert cluster.tasks_run().count(task) == 2
    assert "reincarnated worker" in cluster.log()
    print(f"\n[kill mid-classification] recovered {recovery:.1f} s after kill -9 of worker {pid}")


def test_a_worker_killed_mid_send_leaves_one_reply(make_stack):
    stack = make_stack()
    policy = starter_load(starter="ecommerce").policy
    AutoReplyPolicy.objects.filter(pk=policy.pk).update(mode=Mode.LIVE)
    # The send (PUT /v1/drafts/{id}) takes 3 s in Kustomer; the worker is killed while it waits.
    stack.control(
        "POST",
        "faults",
        {"status": 200, "count": 1, "method": "PUT", "path": "^/v1/drafts/", "latency_ms": 3000},
    )
    stack.web()
    cluster = stack.qcluster()
    conversation_id = stack.new_conversation()
    reply = stack.wait_for(lambda: AutoReply.objects.first(), timeout=30, what="the auto-reply decided")
    task = f"reply-{reply.pk}"
    pid = stack.wait_for(
        lambda: not stack.control("GET", "faults")["faults"] and cluster.worker_running(task),
        timeout=30,
        what="the send in flight",
    )
    cluster.kill_worker(pid)
    killed = time.monotonic()
    stack.wait_for(
        lambda: AutoReply.objects.filter(state="sent").exists(),
        timeout=60,
        what="the reply reconciled as sent",
    )
    recovery = time.monotonic() - killed
    reply.refresh_from_db()
    sent = stack.outbound(conversation_id)
    assert [m["id"] for m in sent] == [reply.message_id]
    assert stack.writes(f"POST /v1/customers/{CUSTOMER_ID}/drafts") == 1
    assert (
        sum(n for k, n in stack.sandbox.stats()["writes_by_path"].items() if k.startswith("PUT /v1/drafts/"))
        == 1
    )
    assert AutoReply.objects.count() == 1
    print(f"\n[kill mid-send] reply reconciled as sent {recovery:.1f} s after kill -9 of worker {pid}")


def test_each_event_three_times_out_of_order_gives_one_classification_one_reply(make_stack, webhook_receiver):
    stack = make_stack()
    policy = starter_load(starter="ecommerce").policy
    AutoReplyPolicy.objects.filter(pk=policy.pk).update(mode=Mode.LIVE)
    # Record what Kustomer sends for a new conversation, then add an agent's later update to it.
    stack.control("POST", "webhooks", {"url": webhook_receiver.url, "secret": stack.secret})
    conversation_id = stack.new_conversation()
    created, message = (delivery["json"] for delivery in webhook_receiver.wait_for(2))
    assert [created["name"], message["name"]] == ["kustomer.conversation.create", "kustomer.message.create"]
    updated = copy.deepcopy(created)
    updated.update(id=f"{created['id']}-update", name="kustomer.conversation.update")
    updated["data"]["attributes"].update(rev=created["data"]["attributes"]["rev"] + 1, tags=["vip"])
    updated["data"]["relationships"]["modifiedBy"] = {"data": {"type": "user", "id": "agent-0001"}}
    updated["changes"] = {"attributes": {"tags": {"op": "replace", "before": [], "after": ["vip"]}}}
    stack.web()  # subscribes the sandbox to it: our write-back and reply come back as events too
    cluster = stack.qcluster()

    deliveries = [created, message, updated] * 3
    random.Random(7).shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda event: deliver(stack.web_url, stack.secret, event), deliveries))
    assert [a.status_code for a in answers] == [200] * 9
    assert Counter(a.json()["status"] for a in answers) == {"accepted": 3, "duplicate": 6}
    stack.wait_for(
        lambda: (
            AutoReply.objects.filter(state="sent").exists()
            and not WebhookEvent.objects.filter(status="received").exists()
        ),
        timeout=60,
        what="the reply sent and every event processed",
    )
    ours = WebhookEvent.objects.filter(event_id__in=[created["id"], message["id"], updated["id"]])
    assert sorted(ours.values_list("attempts", flat=True)) == [1, 1, 1]
    assert Classification.objects.count() == 1
    assert len(stack.messages.message_requests) == 1
    assert AutoReply.objects.count() == 1
    assert len(stack.outbound(conversation_id)) == 1
    assert stack.writes(f"PATCH /v1/conversations/{conversation_id}") == 1
    assert stack.writes(f"POST /v1/customers/{CUSTOMER_ID}/drafts") == 1
    assert cluster.alive


def test_claude_overloaded_throughout_sends_every_conversation_to_the_fallback_or_triage(make_stack):
    stack = make_stack(
        messages={"responder": lambda body: error(529, retry_after_ms=20)},
        LLM_MAX_RETRIES="2",
    )
    call_command("taxonomy_load", stdout=StringIO())
    local_model_train(trained_by="faults test")
    stack.web()
    stack.qcluster()
    texts = [
        "Where is my order? It has not arrived yet.",
        "I want a refund for the broken blender.",
        "How do I change the email address on my account?",
        "qwzx plorp vrrn 77 blick",
        "Can I return these shoes, they are too small?",
        "zzkt frumble oink 42 quux",
    ]
    ids = [stack.new_conversation(text) for text in texts]
    stack.wait_for(
        lambda: Classification.objects.filter(status="done", writeback_status="done").count() == len(ids),
        timeout=90,
        what="every conversation classified and written back",
    )
    assert not Classification.objects.exclude(status="done").exists()  # none pending, none lost
    for classification in Classification.objects.all():
        assert classification.provider == "local"
        assert classification.provider_reason == "fallback_after_claude_error"
        assert "529" in classification.error or "verloaded" in classification.error, classification.error
        if classification.route == "triage":
            assert classification.route_reason == "classifier_error"
        else:
            assert classification.local_confidence >= 0.95
    routes = Counter(Classification.objects.values_list("route", flat=True))
    assert routes["triage"] >= 2  # the nonsense at least: the local model is not sure of them
    requests = stack.messages.message_requests
    assert len(requests) == len(ids) * 3 and {r["status"] for r in requests} == {529}
    assert [stack.writes(f"PATCH /v1/conversations/{c}") for c in ids] == [1] * len(ids)
    print(
        f"\n[Claude 529 throughout] {len(ids)} conversations: {dict(routes)}, {len(requests)} calls refused"
    )


def test_kustomer_429_and_5xx_bursts_back_off_within_the_org_budget_across_two_clusters(make_stack):
    limit, window = 4, 3
    stack = make_stack(
        KUSTOMER_RATE_LIMIT_PER_MINUTE=str(limit),
        KUSTOMER_RATE_WINDOW_SECONDS=str(window),
        # More retries than injected failures: a write-back must outlast any burst it meets.
        KUSTOMER_MAX_RETRIES="7",
        KUSTOMER_MAX_WAIT_SECONDS="30",
        Q_TIMEOUT="45",
        Q_RETRY="90",
    )
    call_command("taxonomy_load", stdout=StringIO())
    stack.control(
        "POST",
        "faults",
        [
            {"status": 429, "count": 3, "method": "PATCH", "retry_after": 1},
            {"status": 503, "count": 2, "method": "PATCH"},
            {"status": 500, "count": 1, "method": "PATCH"},
            {"status": 502, "count": 1, "method": "PATCH"},
        ],
    )
    stack.web()
    first, second = stack.qcluster("qcluster A"), stack.qcluster("qcluster B")
    began = time.monotonic()
    ids = [stack.new_conversation(f"Where is my order? Reference {n:03d}.") for n in range(10)]
    stack.wait_for(
        lambda: Classification.objects.filter(writeback_status="done").count() == len(ids),
        timeout=120,
        what="every write-back done",
    )
    elapsed = time.monotonic() - began
    stats = stack.sandbox.stats()
    per_window = Counter()
    for second_, count in stats["by_second"].items():
        per_window[int(second_) // window] += count
    assert sum(per_window.values()) == stats["total"]
    assert max(per_window.values()) <= limit, sorted(per_window.items())
    assert stats["statuses"] == {"200": len(ids), "429": 3, "503": 2, "500": 1, "502": 1}
    patches = [stack.writes(f"PATCH /v1/conversations/{c}") for c in ids]
    assert sum(patches) == len(ids) + 7 and min(patches) >= 1
    assert set(Classification.objects.values_list("writeback_attempts", flat=True)) == {1}
    logs = first.log() + second.log()
    assert logs.count("retrying in") == 7  # each failure backed off, none gave up
    assert all("classify-" in " ".join(cluster.tasks_run()) for cluster in (first, second))
    print(
        f"\n[Kustomer bursts] {len(ids)} write-backs with 7 injected failures in {elapsed:.1f} s; "
        f"requests per {window} s window (limit {limit}): {[n for _, n in sorted(per_window.items())]}"
    )


def test_postgresql_restarted_while_events_arrive_loses_nothing(make_stack, webhook_receiver):
    postgres = PrivatePostgres().init()
    stack = make_stack()
    try:
        postgres.start()
        call_command("taxonomy_load", stdout=StringIO())
        # A copy of the test database: migrated, with the taxonomy.
        stack.env["DATABASE_URL"] = postgres.create_database(
            "bearscope_restart", copy_of=stack.env["DATABASE_URL"]
        )
        # Real events: the sandbox's own for 15 new conversations, recorded and then replayed by us.
        stack.control("POST", "webhooks", {"url": webhook_receiver.url, "secret": stack.secret})
        ids = [stack.new_conversation(f"Where is my order? Reference {n:03d}.") for n in range(15)]
        events = [delivery["json"] for delivery in webhook_receiver.wait_for(len(ids) * 2)]
        stack.web()
        stack.qcluster()
        readyz = stack.web_url.replace("/webhooks/kustomer/", "/readyz")

        answers: dict[str, list[object]] = {}
        not_ready = None
        for number, event in enumerate(events):
            if number == 10:
                postgres.stop()
                down_since = time.monotonic()
            if number == 18:
                not_ready = requests.get(readyz, timeout=10)
                postgres.start()
                down_for = time.monotonic() - down_since
            answers[event["id"]] = [answer(stack, event)]
            time.sleep(0.1)
        acknowledged = {event_id for event_id, seen in answers.items() if seen[0] == 200}
        outcomes = Counter(str(seen[0]) for seen in answers.values())
        assert not_ready is not None and not_ready.status_code == 503
        assert "database: OperationalError" in not_ready.json()["problems"]
        # Every answer was 200 or retryable: 503 or no connection, never a 500 or a 4xx.
        assert set(outcomes) <= {"200", "503", "connection error"}, outcomes
        assert outcomes["200"] < len(events)  # the outage was seen
        with psycopg.connect(postgres.url("bearscope_restart"), autocommit=True) as db:
            stored = {row[0] for row in db.execute("SELECT event_id FROM kustomer_webhookevent")}
            assert acknowledged <= stored
            # The sender tries again until each event is acknowledged, as Kustomer does.
            for _ in range(20):
                missing = [e for e in events if answers[e["id"]][-1] != 200]
                if not missing:
                    break
                for event in missing:
                    answers[event["id"]].append(answer(stack, event))
                time.sleep(0.5)
            assert all(seen[-1] == 200 for seen in answers.values())

            def settled() -> bool:
                rows = db.execute(
                    "SELECT count(*) FILTER (WHERE status = 'processed'), count(*) "
                    "FROM kustomer_webhookevent WHERE name <> 'kustomer.conversation.update'"
                ).fetchone()
                written = db.execute(
                    "SELECT count(*) FROM classification_classification WHERE writeback_status = 'done'"
                ).fetchone()[0]
                return rows == (len(events), len(events)) and written == len(ids)

            stack.wait_for(
                settled, timeout=90, what="every event processed and every conversation written back"
            )
            attempts = Counter(
                row[0]
                for row in db.execute(
                    "SELECT attempts FROM kustomer_webhookevent WHERE name <> 'kustomer.conversation.update'"
                )
            )
            classifications = db.execute(
                "SELECT count(*), count(DISTINCT conversation_id) FROM classification_classification"
            ).fetchone()
        assert classifications == (len(ids), len(ids))
        assert [stack.writes(f"PATCH /v1/conversations/{c}") for c in ids] == [1] * len(ids)
        print(
            f"\n[PostgreSQL restart] {len(events)} events, first answers {dict(outcomes)}, database down "
            f"{down_for:.1f} s; all stored and processed after resending (attempts {dict(attempts)})"
        )
    finally:
        stack.close()
        postgres.destroy()


def answer(stack, event: dict) -> object:
    """The status code the web server gave a delivery, or "connection error"."""
    try:
        return deliver(stack.web_url, stack.secret, event, timeout=10).status_code
    except requests.RequestException:
        return "connection error"
