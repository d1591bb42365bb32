"""The queue lanes: replies go on without the background lane, events without the decision lane."""

from io import StringIO

from django.core.management import call_command
from django.utils.module_loading import import_string

from autoreply.models import AutoReply, AutoReplyPolicy, Mode
from autoreply.starter import starter_load
from bearscope.lanes import BACKGROUND, CLUSTERS, DECISIONS, EVENTS, TASK_LANES, cluster_for, lane_for
from classification.models import Classification
from kustomer.models import Conversation, WebhookEvent

from .conftest import POSTGRES_ONLY


class TestLaneTable:
    def test_every_task_named_in_a_lane_exists(self):
        for func_path in TASK_LANES:
            assert callable(import_string(func_path)), func_path

    def test_what_customers_feel_has_its_own_lanes(self):
        assert lane_for("kustomer.tasks.webhook_event_process") == EVENTS
        assert lane_for("classification.tasks.conversation_classify") == DECISIONS
        assert lane_for("autoreply.tasks.reply_deliver") == DECISIONS
        assert lane_for("intelligence.tasks.conversation_analyse") == BACKGROUND
        assert len(set(CLUSTERS.values())) == 3

    def test_lanes_off_puts_everything_in_the_default_queue(self, settings):
        settings.QUEUE_LANES = False
        assert cluster_for("classification.tasks.conversation_classify") == CLUSTERS[BACKGROUND]
        settings.QUEUE_LANES = True
        assert cluster_for("classification.tasks.conversation_classify") == CLUSTERS[DECISIONS]


def live_wismo_policy() -> None:
    policy = starter_load(starter="ecommerce").policy
    AutoReplyPolicy.objects.filter(pk=policy.pk).update(mode=Mode.LIVE)


@POSTGRES_ONLY
def test_with_the_background_lane_stopped_a_new_conversation_is_routed_and_answered(make_stack):
    stack = make_stack(QUEUE_LANES="1")
    call_command("taxonomy_load", stdout=StringIO())
    live_wismo_policy()
    stack.web()
    stack.qcluster("qcluster events", lane=EVENTS)
    stack.qcluster("qcluster decisions", lane=DECISIONS)
    conversation_id = stack.new_conversation()
    stack.wait_for(
        lambda: AutoReply.objects.filter(state="sent").exists(),
        timeout=60,
        what="the conversation classified, written back and answered without the background lane",
    )
    classification = Classification.objects.get(conversation__kustomer_id=conversation_id)
    assert (classification.route, classification.writeback_status) == ("auto", "done")
    assert stack.writes(f"PATCH /v1/conversations/{conversation_id}") == 1
    assert len(stack.outbound(conversation_id)) == 1


@POSTGRES_ONLY
def test_with_the_decision_lane_stopped_events_are_processed_and_nothing_is_lost(make_stack):
    stack = make_stack(QUEUE_LANES="1")
    call_command("taxonomy_load", stdout=StringIO())
    stack.web()
    stack.qcluster("qcluster events", lane=EVENTS)
    stack.qcluster("qcluster background")
    conversation_id = stack.new_conversation()
    stack.wait_for(
        lambda: WebhookEvent.objects.exists()
        and not WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists()
        and Conversation.objects.filter(kustomer_id=conversation_id).exists(),
        timeout=60,
        what="the events processed into the mirror",
    )
    assert not Classification.objects.filter(status=Classification.Status.DONE).exists()
    # The decision lane comes back: what waited in its queue is classified and written back.
    stack.qcluster("qcluster decisions", lane=DECISIONS)
    stack.wait_for(
        lambda: Classification.objects.filter(writeback_status="done").exists(),
        timeout=60,
        what="the waiting classification done once the decision lane runs",
    )
    assert stack.writes(f"PATCH /v1/conversations/{conversation_id}") == 1
