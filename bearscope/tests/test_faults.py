"""Fault injection on real processes: killed workers, a restarted database, Kustomer and Claude failing."""

import time
from io import StringIO

from django.core.management import call_command

from autoreply.models import AutoReply, AutoReplyPolicy, Mode
from autoreply.starter import starter_load
from bearscope.testing.messages_server import hang
from classification.models import Classification
from kustomer.models import Conversation
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
