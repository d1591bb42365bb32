"""Fault injection on real processes: killed workers, a restarted database, Kustomer and Claude failing."""

import copy
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

from django.core.management import call_command

from autoreply.models import AutoReply, AutoReplyPolicy, Mode
from autoreply.starter import starter_load
from bearscope.testing.messages_server import error, hang
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
    policy = starter_load(starter="ecommerce")["policy"]
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
    policy = starter_load(starter="ecommerce")["policy"]
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
