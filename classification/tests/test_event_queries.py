"""Queries a customer message costs in the events lane, and what following the conversation decides on it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from autoreply.models import AutoReply, AutoReplyDecision, Escalation
from classification.models import Classification, ClassifierSettings
from classification.selectors import following_classification, following_facts
from classification.services.reclassifying import reclassify_reason
from kustomer.models import Conversation, Message, WebhookEvent
from kustomer.services import webhook_event_process
from kustomer.signals import customer_message_received
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, load_fixture

from .factories import ClassificationFactory, TriageReviewFactory

pytestmark = pytest.mark.django_db

CLEAR = "Hi, where is my order BS-100234? Tracking has not moved since Monday."
# A customer message on a conversation classified and routed automatically: the events lane's most common
# event. The whole event, mirror included (savepoints count), and the receivers alone.
FOLLOW_UP_QUERIES = 12
FOLLOW_UP_RECEIVER_QUERIES = 3


@pytest.fixture
def lane(settings):
    """The settings memo on, as in the events lane's workers, and the classifier settings row in place."""
    settings.SETTINGS_CACHE_SECONDS = 5
    ClassifierSettings.objects.get_or_create(pk=1)
    ClassifierSettings.load()


class Events:
    """Stored message.create events of one conversation, as webhook intake leaves them."""

    def __init__(self) -> None:
        self.count = 0

    def message(self, text: str, *, direction: str = "in") -> WebhookEvent:
        self.count += 1
        payload = load_fixture("message_create_inbound")
        payload["id"] = f"evt-queries-{self.count}"
        data = payload["data"]
        data["id"] = f"msg-queries-{self.count}"
        now = timezone.now().isoformat().replace("+00:00", "Z")
        data["attributes"].update(preview=text, direction=direction, sentAt=now, createdAt=now, updatedAt=now)
        return WebhookEvent.objects.create(
            org=payload["org"],
            event_id=payload["id"],
            name=payload["name"],
            resource_id=data["id"],
            conversation_id=CONVERSATION_ID,
            body=json.dumps(payload),
            received_at=timezone.now(),
        )

    def process(self, text: str, *, direction: str = "in") -> WebhookEvent:
        event = webhook_event_process(event_pk=self.message(text, direction=direction).pk)
        assert event.status in ("processed", "ignored"), event.error
        return event


@pytest.fixture
def events() -> Events:
    return Events()


def classified(events: Events, text: str = CLEAR, *, route: str = "auto") -> Classification:
    """The conversation's first message mirrored, then classified (the decisions lane's part, by hand)."""
    events.process(text)
    now = timezone.now()
    return ClassificationFactory(
        conversation=Conversation.objects.get(kustomer_id=CONVERSATION_ID),
        route=route,
        confidence=0.97 if route == "auto" else 0.41,
        started_at=now,
        classified_at=now,
        prompt_input=text,
        raw_output="{}",
    )


class TestQueries:
    def test_a_follow_up_on_a_conversation_routed_automatically(
        self, lane, events, django_assert_max_num_queries
    ):
        classification = classified(events)
        event = events.message("Thanks! Any news on it?")
        with django_assert_max_num_queries(FOLLOW_UP_QUERIES):
            assert webhook_event_process(event_pk=event.pk).status == "processed"
        classification.refresh_from_db()
        assert classification.reclassify_due_at is None and not Escalation.objects.exists()

    def test_the_receivers_alone(self, lane, events, django_assert_max_num_queries):
        classified(events)
        events.process("Thanks! Any news on it?")
        message = Message.objects.select_related("conversation").latest("pk")
        with django_assert_max_num_queries(FOLLOW_UP_RECEIVER_QUERIES):
            customer_message_received.send(
                sender=Message, conversation=message.conversation, message=message, event=None
            )

    def test_the_classification_is_read_without_its_wide_fields(self, lane, events):
        classification = classified(events)
        brief = following_classification(conversation=classification.conversation)
        assert brief.pk == classification.pk
        assert {"prompt_input", "raw_output", "rationale", "entities"} <= brief.get_deferred_fields()


class TestFollowing:
    """The same decisions as before the queries were cut: each reason not to classify again still holds."""

    def test_triage_waits_then_one_schedule_moved_by_each_message(self, lane, events):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"reclassify_debounce_seconds": 20})
        classification = classified(events, "Hi", route="triage")
        events.process("I ordered boots")
        first_due = Schedule.objects.get(name=f"reclassify-{classification.pk}").next_run
        events.process("where are they?")
        schedule = Schedule.objects.get(name=f"reclassify-{classification.pk}")
        classification.refresh_from_db()
        assert schedule.next_run == classification.reclassify_due_at >= first_due
        assert (schedule.func, schedule.args, schedule.repeats) == (
            "classification.tasks.conversation_reclassify",
            repr((classification.pk,)),
            -1,
        )

    def test_a_schedule_the_scheduler_already_ran_is_made_again(self, lane, events):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"reclassify_debounce_seconds": 20})
        classification = classified(events, "Hi", route="triage")
        events.process("I ordered boots")
        Schedule.objects.all().delete()  # a ONCE schedule is deleted once it has run
        events.process("where are they?")
        assert Schedule.objects.filter(name=f"reclassify-{classification.pk}").count() == 1

    @pytest.mark.parametrize("cause", ["reviewed", "answered", "capped", "read"])
    def test_no_reclassification_when(self, lane, events, cause):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"max_reclassifications": 1})
        classification = classified(events, "Hi", route="triage")
        if cause == "reviewed":
            TriageReviewFactory(classification=classification)
        elif cause == "answered":
            events.process("Hello! How can I help?", direction="out")
        elif cause == "capped":
            ClassificationFactory(
                conversation=classification.conversation, current=False, reclassify_reason="too_little_text"
            )
        events.process("where is my order BS-100234?")
        if cause == "read":
            # The classification started after the message was mirrored: it read it, nothing newer.
            Classification.objects.filter(pk=classification.pk).update(
                started_at=timezone.now() + timedelta(seconds=1), reclassify_due_at=None
            )
            classification.refresh_from_db()
            message = Message.objects.filter(direction="in").latest("pk")
            assert reclassify_reason(classification=classification, config=ClassifierSettings.load()) == ""
            assert (
                reclassify_reason(
                    classification=classification, config=ClassifierSettings.load(), message=message
                )
                == ""
            )
            return
        classification.refresh_from_db()
        assert classification.reclassify_due_at is None

    def test_the_facts_read_together(self, lane, events):
        classification = classified(events, "Hi", route="triage")
        conversation = classification.conversation
        assert vars(following_facts(conversation=conversation)) == {
            "reviewed": False,
            "answered": False,
            "reclassified": 0,
        }
        ClassificationFactory(conversation=conversation, current=False, reclassify_reason="triage_unreviewed")
        ClassificationFactory(conversation=conversation, current=False, reclassify_reason="manual")
        TriageReviewFactory(classification=classification)
        events.process("Hello! How can I help?", direction="out")
        assert vars(following_facts(conversation=conversation)) == {
            "reviewed": True,
            "answered": True,
            "reclassified": 1,
        }

    def test_too_little_text_is_classified_again_and_enough_is_not(self, lane, events):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"reclassify_debounce_seconds": 0})
        classification = classified(events, "Hi there!")
        events.process("where is my order BS-100234?")
        classification.refresh_from_db()
        assert classification.reclassify_due_at is not None

    def test_a_follow_up_after_a_sent_reply_escalates_once(self, lane, events):
        classification = classified(events)
        decision = AutoReplyDecision.objects.create(
            classification=classification,
            conversation=classification.conversation,
            verdict="reply",
            mode="live",
        )
        AutoReply.objects.create(
            conversation=classification.conversation,
            decision=decision,
            mode="live",
            channel="email",
            body="Your order is on its way.",
            state=AutoReply.State.SENT,
            finished_at=timezone.now(),
        )
        events.process("That's not right, it says delivered!")
        events.process("Hello??")
        assert Escalation.objects.get().message_id == "msg-queries-2"
