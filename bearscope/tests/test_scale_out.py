"""Scale out: two qcluster processes on one PostgreSQL, with the database broker and with Redis."""

import time
from collections import Counter
from io import StringIO

import pytest
import redis
from django.core.management import call_command

from autoreply.models import AutoReplyDecision
from classification.models import Classification
from kustomer.models import Conversation, WebhookEvent

from .conftest import POSTGRES_ONLY, REDIS_URL

pytestmark = [POSTGRES_ONLY]

CONVERSATIONS = 40


def redis_db_emptied() -> None:
    """Our own Redis database (3) emptied, or the test skipped when Redis does not answer."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL}: {exc}")


@pytest.mark.parametrize("broker", ["database", "redis"])
def test_two_clusters_process_a_burst_once(make_stack, broker):
    env = {"REDIS_URL": REDIS_URL} if broker == "redis" else {}
    if broker == "redis":
        redis_db_emptied()
    # A long retry: tasks a cluster has fetched but not started yet must not be handed to the other.
    stack = make_stack(Q_TIMEOUT="30", Q_RETRY="60", **env)
    call_command("taxonomy_load", stdout=StringIO())
    stack.web()
    first, second = stack.qcluster("qcluster A"), stack.qcluster("qcluster B")

    began = time.monotonic()
    conversation_ids = []
    for number in range(CONVERSATIONS):
        conversation_id = stack.new_conversation(f"Where is my order? Reference {number:03d}.")
        stack.control(
            "POST", "scenarios/customer-message", {"conversation_id": conversation_id, "text": "Any news?"}
        )
        conversation_ids.append(conversation_id)
    offered = time.monotonic() - began
    stack.wait_for(
        lambda: (
            AutoReplyDecision.objects.count() == CONVERSATIONS
            and Classification.objects.filter(writeback_status="done").count() == CONVERSATIONS
        ),
        timeout=120,
        what=f"{CONVERSATIONS} conversations classified, written back and decided",
    )
    finished = time.monotonic() - began

    # Every event stored once and processed once; our write-backs' echoes ignored at intake.
    events = WebhookEvent.objects.all()
    assert events.filter(status="processed").count() == CONVERSATIONS * 3
    assert set(events.exclude(status="processed").values_list("status", "attempts")) <= {("ignored", 0)}
    assert set(events.filter(status="processed").values_list("attempts", flat=True)) == {1}
    # One classification and one model call per conversation, one write-back PATCH each.
    assert Conversation.objects.count() == CONVERSATIONS
    assert Classification.objects.count() == CONVERSATIONS
    assert set(Classification.objects.values_list("writeback_attempts", flat=True)) == {1}
    asked = Counter(
        str(request["body"]["messages"][-1]["content"]) for request in stack.messages.message_requests
    )
    assert len(asked) == CONVERSATIONS and set(asked.values()) == {1}
    assert [stack.writes(f"PATCH /v1/conversations/{c}") for c in conversation_ids] == [1] * CONVERSATIONS
    # Both clusters took work, and no task ran twice across them.
    ran = {cluster.label: cluster.tasks_run() for cluster in (first, second)}
    assert all(ran.values()), {label: len(tasks) for label, tasks in ran.items()}
    counted = Counter(task for tasks in ran.values() for task in tasks)
    assert counted.most_common(1)[0][1] == 1, counted.most_common(3)
    print(
        f"\n[scale-out {broker}] {CONVERSATIONS} conversations, {events.count()} events "
        f"offered in {offered:.1f} s, all written back after {finished:.1f} s; tasks run: "
        + ", ".join(f"{label} {len(tasks)}" for label, tasks in ran.items())
    )
