"""Following the conversation: re-classification on the customer's next messages, and a triage review
that decides the auto-reply again; over webhooks, the Kustomer sandbox and the local Messages API."""

import copy
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from autoreply.models import AutoReplyDecision
from autoreply.services.deciding import review_autoreply, review_decisions_sweep
from bearscope.testing.factories import UserFactory
from bearscope.testing.messages_server import reply_json
from classification import tasks as classification_tasks
from classification.models import Classification, ClassifierSettings, Intent, PriorityLevel, TriageReview
from classification.selectors import triage_waiting
from classification.services.triage import triage_review_save
from kustomer.tests.helpers import post_webhook
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, ORDER_NUMBER, load_fixture

from .conftest import outbound, sandbox_conversation

pytestmark = pytest.mark.django_db

UNSURE = {
    "intent": "shipping_issue",
    "sub_intent": "status",
    "priority": "normal",
    "complexity": "simple",
    "confidence": 0.41,
    "rationale": "A greeting; no request yet.",
    "entities": {"order_number": None, "email": None},
    "language": "en",
    "sentiment": "neutral",
}
WISMO = {
    **UNSURE,
    "confidence": 0.98,
    "rationale": "Asks where their order is.",
    "entities": {"order_number": ORDER_NUMBER, "email": None},
}


@pytest.fixture
def reviewer(db):
    return UserFactory(username="maya", first_name="Maya", last_name="Patel", reviewer=True)


@pytest.fixture
def following(starter, messages_server, kustomer_sandbox, settings):
    """The WISMO policy in shadow mode, Claude on the local server, no wait before re-classifying."""
    settings.LLM_MAX_RETRIES = 0
    ClassifierSettings.objects.update_or_create(pk=1, defaults={"reclassify_debounce_seconds": 0})
    return messages_server


class Chat:
    """Maya's conversation on chat, one webhook per message."""

    def __init__(self, capture) -> None:
        self.capture = capture
        self.client = Client()
        self.count = 0

    def message(self, text: str, *, direction: str = "in") -> None:
        self.count += 1
        fixture = "message_create_inbound" if direction == "in" else "message_create_outbound"
        payload = copy.deepcopy(load_fixture(fixture))
        data = payload["data"]
        data["id"] = f"6650c3c4d5e6f70803c4f{self.count:03d}"
        attributes = data["attributes"]
        attributes.update(channel="chat", preview=text, subject="")
        attributes["meta"] = {}
        with self.capture(execute=True):
            response = post_webhook(self.client, {**payload, "id": f"chat-event-{self.count}"})
        assert response.status_code == 200

    def says(self, *texts: str) -> None:
        for text in texts:
            self.message(text)


@pytest.fixture
def chat(following, django_capture_on_commit_callbacks) -> Chat:
    return Chat(django_capture_on_commit_callbacks)


def classifications() -> list[Classification]:
    return list(Classification.objects.order_by("pk"))


class TestReclassification:
    def test_hi_then_the_question_is_classified_again_routed_written_back_and_decided_once(
        self, chat, following, kustomer_sandbox
    ):
        following.script(reply_json(UNSURE), reply_json(WISMO))
        chat.says("Hi")
        first = Classification.objects.get()
        assert (first.route, first.route_reason) == ("triage", "low_confidence")
        assert list(triage_waiting()) == [first]
        assert AutoReplyDecision.objects.get().reason == "classification"

        chat.says("where is my order BS-100234?")
        first, second = classifications()
        assert not first.current and second.current
        assert (second.route, second.reclassify_reason) == ("auto", "triage_unreviewed")
        assert "where is my order BS-100234?" in str(following.message_requests[1]["body"])
        assert list(triage_waiting()) == []
        custom = sandbox_conversation(kustomer_sandbox, CONVERSATION_ID)["conversation"]["attributes"][
            "custom"
        ]
        assert (custom["aiRouteStr"], custom["aiIntentStr"]) == ("auto", "shipping_issue")
        replies = AutoReplyDecision.objects.filter(verdict="reply")
        assert [(d.classification_id, d.mode) for d in replies] == [(second.pk, "shadow")]
        assert ORDER_NUMBER in replies[0].body

    def test_the_admin_shows_every_classification_of_the_conversation_with_why(
        self, chat, following, admin_client
    ):
        following.script(reply_json(UNSURE), reply_json(WISMO))
        chat.says("Hi", "where is my order BS-100234?")
        first = classifications()[0]
        page = admin_client.get(reverse("admin:classification_classification_change", args=[first.pk]))
        history = page.content.decode().split("All classifications of this conversation")[1]
        assert history.index("Triage") < history.index("Auto") and "(this one)" in history
        assert "Customer wrote again while waiting in triage" in history
        changelist = admin_client.get(
            reverse("admin:classification_classification_changelist"),
            {"reclassify_reason": "triage_unreviewed"},
        )
        assert changelist.context["cl"].result_count == 1

    def test_a_greeting_routed_automatically_is_classified_again_for_too_little_text(self, chat, following):
        following.script(reply_json({**UNSURE, "confidence": 0.95}), reply_json(WISMO))
        chat.says("Hi there!")
        assert Classification.objects.get().route == "auto"
        chat.says("where is my order BS-100234?")
        assert [c.reclassify_reason for c in classifications()] == ["", "too_little_text"]

    def test_a_clear_request_routed_automatically_is_not_classified_again(self, chat, following):
        following.script(reply_json(WISMO))
        chat.says("where is my order BS-100234? it has not moved")
        chat.says("thanks")
        assert len(classifications()) == 1 and len(following.message_requests) == 1

    def test_a_reviewed_conversation_is_never_classified_again(self, chat, following, reviewer):
        following.script(reply_json(UNSURE))
        chat.says("Hi")
        first = Classification.objects.get()
        triage_review_save(
            classification=first,
            reviewer=reviewer,
            intent=Intent.objects.get(key="shipping_issue", parent=None),
            sub_intent=None,
            priority=PriorityLevel.objects.get(key="normal"),
            complexity=first.complexity,
        )
        chat.says("where is my order BS-100234?")
        assert classifications() == [first] and len(following.message_requests) == 1

    def test_an_answered_conversation_is_never_classified_again(self, chat, following):
        following.script(reply_json(UNSURE))
        chat.says("Hi")
        chat.message("Hello! How can I help?", direction="out")
        chat.says("where is my order BS-100234?")
        assert len(classifications()) == 1 and len(following.message_requests) == 1

    def test_at_most_the_cap(self, chat, following):
        ClassifierSettings.objects.filter(pk=1).update(max_reclassifications=2)
        following.script(reply_json(UNSURE), reply_json(UNSURE), reply_json(UNSURE), reply_json(WISMO))
        chat.says("Hi", "hello?", "anyone there?", "where is my order BS-100234?")
        assert [c.reclassify_reason for c in classifications()] == [
            "",
            "triage_unreviewed",
            "triage_unreviewed",
        ]
        assert len(following.message_requests) == 3
        assert classifications()[-1].current


class TestBurst:
    def test_three_messages_give_one_reclassification_after_the_wait(self, chat, following):
        ClassifierSettings.objects.filter(pk=1).update(reclassify_debounce_seconds=20)
        following.script(reply_json(UNSURE), reply_json(WISMO))
        chat.says("Hi")
        first = Classification.objects.get()
        chat.says("I ordered boots", "order BS-100234", "where are they?")
        schedule = Schedule.objects.get(name=f"reclassify-{first.pk}")
        first.refresh_from_db()
        assert schedule.next_run == first.reclassify_due_at > timezone.now()
        assert classification_tasks.conversation_reclassify(first.pk) == "not due"

        # The wait is over: the schedule fires, and a duplicate delivery and the sweeper find it done.
        Classification.objects.filter(pk=first.pk).update(
            reclassify_due_at=timezone.now() - timedelta(seconds=1)
        )
        assert classification_tasks.conversation_reclassify(first.pk) == "re-classified: auto"
        assert classification_tasks.conversation_reclassify(first.pk) == "not due"
        classification_tasks.sweep()
        assert [c.reclassify_reason for c in classifications()] == ["", "triage_unreviewed"]
        assert len(following.message_requests) == 2
        text = str(following.message_requests[1]["body"])
        assert all(part in text for part in ("I ordered boots", "order BS-100234", "where are they?"))

    def test_a_lost_schedule_is_picked_up_by_the_sweeper(
        self, chat, following, django_capture_on_commit_callbacks
    ):
        ClassifierSettings.objects.filter(pk=1).update(reclassify_debounce_seconds=20)
        following.script(reply_json(UNSURE), reply_json(WISMO))
        chat.says("Hi", "where is my order BS-100234?")
        Schedule.objects.all().delete()
        Classification.objects.filter(current=True).update(
            reclassify_due_at=timezone.now() - timedelta(minutes=3)
        )
        with django_capture_on_commit_callbacks(execute=True):
            classification_tasks.sweep()
        assert [c.reclassify_reason for c in classifications()] == ["", "triage_unreviewed"]


class TestReviewDecides:
    def _triage(self, chat, following, classifier_answer: dict) -> Classification:
        following.script(reply_json(classifier_answer))
        chat.says("Hi, my order BS-100234, where is it? Not sure it is even shipped")
        classification = Classification.objects.get()
        assert classification.route == "triage"
        assert AutoReplyDecision.objects.get().reason == "classification"
        return classification

    def _review(self, classification, reviewer, capture, *, intent: str, sub_intent: str | None):
        top = Intent.objects.get(key=intent, parent=None)
        with capture(execute=True):
            return triage_review_save(
                classification=classification,
                reviewer=reviewer,
                intent=top,
                sub_intent=top.sub_intents.get(key=sub_intent) if sub_intent else None,
                priority=PriorityLevel.objects.get(key="normal"),
                complexity=classification.complexity,
            )

    def test_a_confirmed_wismo_conversation_gets_the_shadow_reply(
        self, chat, following, reviewer, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        classification = self._triage(chat, following, {**WISMO, "confidence": 0.7})
        review = self._review(
            classification,
            reviewer,
            django_capture_on_commit_callbacks,
            intent="shipping_issue",
            sub_intent="status",
        )
        decision = AutoReplyDecision.objects.get(triage_review=review)
        assert (decision.verdict, decision.mode, decision.reason) == ("reply", "shadow", "")
        assert ORDER_NUMBER in decision.body
        checks = {c["check"]: c for c in decision.checks}
        assert checks["classification"]["reason"].startswith("confirmed in triage")
        assert checks["confidence"]["passed"] and checks["first_contact"]["passed"]
        assert outbound(sandbox_conversation(kustomer_sandbox, CONVERSATION_ID)) == []

    def test_a_correction_to_an_intent_without_a_policy_replies_nothing(
        self, chat, following, reviewer, django_capture_on_commit_callbacks
    ):
        classification = self._triage(chat, following, {**WISMO, "confidence": 0.7})
        review = self._review(
            classification,
            reviewer,
            django_capture_on_commit_callbacks,
            intent="account_access",
            sub_intent=None,
        )
        decision = AutoReplyDecision.objects.get(triage_review=review)
        assert (decision.verdict, decision.reason) == ("blocked", "intent")
        assert not AutoReplyDecision.objects.filter(verdict="reply").exists()

    def test_a_correction_to_wismo_after_an_agent_answered_replies_nothing(
        self, chat, following, reviewer, django_capture_on_commit_callbacks
    ):
        classification = self._triage(
            chat, following, {**UNSURE, "intent": "account_access", "sub_intent": None}
        )
        chat.message("Let me check that for you.", direction="out")
        review = self._review(
            classification,
            reviewer,
            django_capture_on_commit_callbacks,
            intent="shipping_issue",
            sub_intent="status",
        )
        decision = AutoReplyDecision.objects.get(triage_review=review)
        assert (decision.verdict, decision.reason) == ("blocked", "first_contact")

    def test_a_review_whose_decision_was_lost_is_decided_by_the_sweeper(
        self, chat, following, reviewer, django_capture_on_commit_callbacks
    ):
        classification = self._triage(chat, following, {**WISMO, "confidence": 0.7})
        review = self._review(
            classification,
            reviewer,
            django_capture_on_commit_callbacks,
            intent="shipping_issue",
            sub_intent="status",
        )
        AutoReplyDecision.objects.filter(triage_review=review).delete()
        TriageReview.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            assert review_decisions_sweep() == [review.pk]
        assert AutoReplyDecision.objects.get(triage_review=review).verdict == "reply"

    def test_a_review_decides_once_and_never_a_second_reply(
        self, chat, following, reviewer, django_capture_on_commit_callbacks
    ):
        classification = self._triage(chat, following, {**WISMO, "confidence": 0.7})
        review = self._review(
            classification,
            reviewer,
            django_capture_on_commit_callbacks,
            intent="shipping_issue",
            sub_intent="status",
        )
        again = review_autoreply(review_pk=review.pk)
        assert again == AutoReplyDecision.objects.get(triage_review=review)
        assert AutoReplyDecision.objects.filter(verdict="reply").count() == 1
