"""The classifier through the real anthropic SDK against a local Messages API server."""

import json
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from bearscope.testing.messages_server import error, hang, refusal, repeat, reply_json
from classification.models import Classification, ClassifierSettings, Intent, PriorityLevel
from classification.services.classifying import conversation_classify, conversations_reclassify
from classification.services.writeback import writeback_sweep
from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read
from kustomer.models import Conversation, CustomAttributeNames, Message
from kustomer.tests.helpers import post_webhook
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, load_fixture

pytestmark = pytest.mark.django_db

GOOD = {
    "intent": "shipping_issue",
    "sub_intent": "status",
    "priority": "normal",
    "complexity": "simple",
    "confidence": 0.97,
    "rationale": "The customer asks where order BS-100234 is.",
    "entities": {"order_number": "BS-100234", "email": None},
    "language": "en",
    "sentiment": "neutral",
}


def answer(**changes) -> dict:
    return {**GOOD, **changes}


@pytest.fixture
def taxonomy():
    taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))


@pytest.fixture
def conversation(taxonomy, kustomer_sandbox) -> Conversation:
    """A mirrored conversation that also exists in the sandbox, with one customer message."""
    conversation = Conversation.objects.create(
        kustomer_id=CONVERSATION_ID, name="Where is my order?", channels=["email"], status="open"
    )
    Message.objects.create(
        kustomer_id="m1",
        conversation=conversation,
        direction="in",
        channel="email",
        body="Hi, where is my order BS-100234? Tracking has not moved since Monday.",
    )
    return conversation


@pytest.fixture
def claude(messages_server, settings):
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 5
    return messages_server


def sandbox_custom(sandbox) -> dict:
    state = requests.get(sandbox.url(f"/_sandbox/state/conversations/{CONVERSATION_ID}"), timeout=5).json()
    return state["conversation"]["attributes"]


class TestRouting:
    def test_confident_answer_routes_auto_and_is_written_back(
        self, conversation, claude, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        claude.script(reply_json(GOOD))
        with django_capture_on_commit_callbacks(execute=True):
            classification = conversation_classify(conversation_pk=conversation.pk)
        classification.refresh_from_db()
        assert (classification.route, classification.route_reason) == ("auto", "")
        assert classification.intent.key == "shipping_issue"
        assert classification.sub_intent.key == "status"
        assert classification.entities["order_number"] == "BS-100234"
        assert classification.input_tokens > 0 and classification.output_tokens > 0
        assert classification.cost_usd > 0
        assert classification.latency_ms is not None
        assert len(classification.prompt_version.version) == 12
        assert json.loads(classification.raw_output) == GOOD
        assert classification.writeback_status == "done"
        attributes = sandbox_custom(kustomer_sandbox)
        assert attributes["custom"]["aiIntentStr"] == "shipping_issue"
        assert attributes["custom"]["aiSubIntentStr"] == "status"
        assert attributes["custom"]["aiRouteStr"] == "auto"
        assert attributes["custom"]["aiConfidenceNum"] == 0.97
        assert attributes["custom"]["aiReviewedBool"] is False
        assert attributes["custom"]["aiLanguageStr"] == "en"
        assert attributes["custom"]["aiSentimentStr"] == "neutral"
        assert attributes["priority"] == PriorityLevel.objects.get(key="normal").kustomer_priority

    def test_claude_gives_the_language_and_sentiment_written_back(
        self, conversation, claude, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        claude.script(reply_json(answer(language="ES", sentiment="negative")))
        with django_capture_on_commit_callbacks(execute=True):
            classification = conversation_classify(conversation_pk=conversation.pk)
        classification.refresh_from_db()
        assert (classification.language, classification.sentiment) == ("es", "negative")
        assert "language" not in classification.entities
        custom = sandbox_custom(kustomer_sandbox)["custom"]
        assert (custom["aiLanguageStr"], custom["aiSentimentStr"]) == ("es", "negative")
        request = claude.message_requests[-1]
        properties = request["body"]["output_config"]["format"]["schema"]["properties"]
        assert properties["sentiment"]["enum"] == ["neutral", "negative", "positive"]
        assert "language" in properties and "language" not in properties["entities"]["properties"]

    def test_the_servers_schema_answer_is_valid_with_an_unknown_language(self, conversation, claude):
        classification = conversation_classify(conversation_pk=conversation.pk)
        assert classification.route_reason != "invalid_output"
        assert (classification.language, classification.sentiment) == ("", "neutral")

    def test_below_the_threshold_goes_to_triage(self, conversation, claude):
        claude.script(reply_json(answer(confidence=0.6)))
        classification = conversation_classify(conversation_pk=conversation.pk)
        assert (classification.route, classification.route_reason) == ("triage", "low_confidence")

    def test_a_per_intent_threshold_overrides_the_global_one(self, conversation, claude):
        Intent.objects.filter(key="shipping_issue", parent=None).update(auto_route_threshold="0.5")
        claude.script(reply_json(answer(confidence=0.6)))
        assert conversation_classify(conversation_pk=conversation.pk).route == "auto"

    @pytest.mark.parametrize(
        ("step", "reason"),
        [
            (reply_json(answer(intent="teleportation")), "invalid_output"),
            (reply_json(answer(sub_intent="recover_password")), "invalid_output"),
            (reply_json(answer(confidence=1.7)), "invalid_output"),
            (reply_json(answer(priority="whenever")), "invalid_output"),
            (reply_json(answer(language="Spanish")), "invalid_output"),
            (reply_json(answer(sentiment="furious")), "invalid_output"),
            (reply_json('{"intent": "shipping_iss', stop_reason="max_tokens"), "truncated_output"),
            (reply_json("not json at all"), "invalid_output"),
            (refusal(), "refusal"),
            (error(500, "api_error", "boom"), "classifier_error"),
            (error(529, "overloaded_error", "busy"), "classifier_error"),
            (error(400, "invalid_request_error", "bad"), "classifier_error"),
            (hang(3), "classifier_error"),
        ],
        ids=[
            "unknown-intent",
            "foreign-sub-intent",
            "confidence-1.7",
            "unknown-priority",
            "language-not-a-code",
            "unknown-sentiment",
            "truncated",
            "not-json",
            "refusal",
            "500",
            "529",
            "400",
            "hang",
        ],
    )
    def test_every_failure_goes_to_triage_with_its_reason(self, conversation, claude, settings, step, reason):
        settings.LLM_TIMEOUT_SECONDS = 1
        claude.script(step)
        classification = conversation_classify(conversation_pk=conversation.pk)
        assert (classification.route, classification.route_reason) == ("triage", reason)
        assert classification.status == "done"
        assert classification.error

    def test_429_with_retry_after_is_retried_by_the_sdk(self, conversation, claude, settings):
        settings.LLM_MAX_RETRIES = 2
        claude.script(error(429, "rate_limit_error", "slow down", retry_after=1), reply_json(GOOD))
        assert conversation_classify(conversation_pk=conversation.pk).route == "auto"
        assert len(claude.message_requests) == 2

    def test_529_for_longer_than_the_retries_ends_in_triage(self, conversation, claude, settings):
        settings.LLM_MAX_RETRIES = 2
        claude.script(repeat(error(529, "overloaded_error", "busy", retry_after_ms=10), 5))
        classification = conversation_classify(conversation_pk=conversation.pk)
        assert classification.route_reason == "classifier_error"
        assert len(claude.message_requests) == 3

    def test_without_a_key_it_goes_to_triage_and_says_why(self, conversation, settings):
        settings.ANTHROPIC_API_KEY = ""
        classification = conversation_classify(conversation_pk=conversation.pk)
        assert (classification.route, classification.route_reason) == ("triage", "no_classifier")
        assert "ANTHROPIC_API_KEY" in classification.error

    def test_switched_off_classifies_nothing(self, conversation, claude):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"enabled": False})
        assert conversation_classify(conversation_pk=conversation.pk) is None
        assert not Classification.objects.exists()


class TestPrompt:
    def test_static_part_first_cache_marked_and_schema_enumerates_active_intents(self, conversation, claude):
        Intent.objects.filter(key="troubleshoot_site", parent=None).update(active=False)
        claude.script(reply_json(GOOD))
        conversation_classify(conversation_pk=conversation.pk)
        body = claude.message_requests[0]["body"]
        system = body["system"]
        assert system[0]["cache_control"] == {"type": "ephemeral"}
        assert "shipping_issue" in system[0]["text"] and "Business rules" in system[0]["text"]
        assert "BS-100234" not in system[0]["text"]  # the conversation is not in the cached part
        assert "BS-100234" in body["messages"][0]["content"]
        enum = body["output_config"]["format"]["schema"]["properties"]["intent"]["enum"]
        assert "shipping_issue" in enum and "troubleshoot_site" not in enum

    def test_long_conversations_are_cut_to_the_budget(self, conversation, claude):
        ClassifierSettings.objects.update_or_create(pk=1, defaults={"conversation_char_budget": 300})
        Message.objects.create(kustomer_id="m2", conversation=conversation, direction="in", body="x" * 5000)
        claude.script(reply_json(GOOD))
        conversation_classify(conversation_pk=conversation.pk)
        content = claude.message_requests[0]["body"]["messages"][0]["content"]
        assert len(content) < 450
        assert "[cut]" in content


class TestOnce:
    def test_repeated_requests_classify_once(self, conversation, claude):
        claude.script(reply_json(GOOD))
        first = conversation_classify(conversation_pk=conversation.pk)
        second = conversation_classify(conversation_pk=conversation.pk)
        assert first.pk == second.pk
        assert Classification.objects.count() == 1
        assert len(claude.message_requests) == 1

    def test_a_start_older_than_the_task_timeout_belongs_to_a_dead_worker(
        self, conversation, claude, settings
    ):
        settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 10}
        claude.script(reply_json(GOOD))
        left = Classification.objects.create(
            conversation=conversation, started_at=timezone.now() - timedelta(seconds=8)
        )
        assert (
            conversation_classify(conversation_pk=conversation.pk).status == "pending"
        )  # its worker may live
        Classification.objects.filter(pk=left.pk).update(started_at=timezone.now() - timedelta(seconds=16))
        assert conversation_classify(conversation_pk=conversation.pk).status == "done"
        assert len(claude.message_requests) == 1

    def test_duplicate_webhooks_produce_one_classification(
        self, taxonomy, claude, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        payload = load_fixture("message_create_inbound")
        client = Client()
        for event_id in ("evt-a", "evt-a", "evt-b"):  # a duplicate delivery, then a re-sent event
            with django_capture_on_commit_callbacks(execute=True):
                assert post_webhook(client, {**payload, "id": event_id}).status_code == 200
        assert Classification.objects.count() == 1
        assert Classification.objects.get().route == "auto"
        assert len(claude.message_requests) == 1

    def test_reclassify_on_purpose_keeps_history(
        self, conversation, claude, django_capture_on_commit_callbacks
    ):
        claude.script(reply_json(answer(confidence=0.5)), reply_json(GOOD))
        conversation_classify(conversation_pk=conversation.pk)
        with django_capture_on_commit_callbacks(execute=True):
            conversations_reclassify(conversations=[conversation])
        assert Classification.objects.filter(conversation=conversation).count() == 2
        current = Classification.objects.get(conversation=conversation, current=True)
        assert current.route == "auto"


class TestWriteBack:
    def test_failed_write_back_is_recorded_then_swept(
        self, conversation, claude, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        requests.post(kustomer_sandbox.url("/_sandbox/faults"), json={"status": 500, "count": 20}, timeout=5)
        claude.script(reply_json(GOOD))
        with django_capture_on_commit_callbacks(execute=True):
            classification = conversation_classify(conversation_pk=conversation.pk)
        classification.refresh_from_db()
        assert classification.writeback_status == "failed"
        assert classification.writeback_attempts == 1
        assert "500" in classification.writeback_error
        requests.delete(kustomer_sandbox.url("/_sandbox/faults"), timeout=5)
        Classification.objects.filter(pk=classification.pk).update(updated_at="2000-01-01T00:00:00Z")
        with django_capture_on_commit_callbacks(execute=True):
            assert writeback_sweep() == [classification.pk]
        classification.refresh_from_db()
        assert classification.writeback_status == "done"
        assert sandbox_custom(kustomer_sandbox)["custom"]["aiIntentStr"] == "shipping_issue"


def test_an_echo_of_renamed_attributes_is_still_recognised_as_ours(
    taxonomy, django_capture_on_commit_callbacks
):
    CustomAttributeNames.objects.update_or_create(pk=1, defaults={"intent": "teamIntentStr"})
    payload = load_fixture("conversation_update_own_custom")
    payload["data"]["relationships"]["modifiedBy"]["data"]["id"] = "a-workflow"
    payload["changes"]["attributes"]["custom"]["after"] = {"teamIntentStr": "shipping_issue"}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(Client(), payload).json()["status"] == "accepted"
    from kustomer.models import WebhookEvent

    assert WebhookEvent.objects.get().reason == "only BearScope's own custom attributes changed"
