"""The language and sentiment guardrails: replies only in the customer's language, none to upset customers."""

import pytest
import requests
from django.core.exceptions import ValidationError

from autoreply.models import AutoReply, AutoReplySettings, ReplyTemplateVersion
from autoreply.reasons import BlockReason
from autoreply.services.deciding import classification_autoreply
from bearscope.testing.messages_server import reply_json
from classification.services.classifying import conversation_classify
from kustomer.payloads import message_body_text
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID, CUSTOMER_ID, ORDER_NUMBER

from .conftest import outbound, sandbox_conversation

pytestmark = pytest.mark.django_db

SPANISH = "Hola, ¿dónde está mi pedido BS-100234? El seguimiento no se mueve desde el lunes."
# What Claude answers for it: the WISMO intent, confident, in Spanish.
SPANISH_ANSWER = {
    "intent": "shipping_issue",
    "sub_intent": "status",
    "priority": "normal",
    "complexity": "simple",
    "confidence": 0.98,
    "rationale": "Pregunta dónde está su pedido.",
    "entities": {"order_number": ORDER_NUMBER, "email": None},
    "language": "es",
    "sentiment": "neutral",
}


def spanish_version(template) -> ReplyTemplateVersion:
    return ReplyTemplateVersion.objects.create(
        template=template,
        language="es",
        subject="Tu pedido {order_number}",
        body="Tu pedido {order_number} está en camino con {carrier}: {tracking_url}",
    )


def new_conversation(sandbox, mirrored, text: str):
    """A new conversation of Maya's in the sandbox (no webhook), mirrored as the intake would have."""
    created = requests.post(
        sandbox.url("/_sandbox/scenarios/new-conversation"),
        json={"customer_id": CUSTOMER_ID, "text": text, "deliver": False},
        timeout=5,
    )
    created.raise_for_status()
    return mirrored(created.json()["conversation_id"], CUSTOMER_ID, text)


def decide(classification, capture):
    with capture(execute=True):
        return classification_autoreply(classification_pk=classification.pk)


class TestLanguage:
    def test_spanish_is_written_back_blocked_without_a_spanish_template_then_sent_with_one(
        self, live, mirrored, kustomer_sandbox, messages_server, settings, django_capture_on_commit_callbacks
    ):
        settings.LLM_MAX_RETRIES = 0
        messages_server.script(reply_json(SPANISH_ANSWER), reply_json(SPANISH_ANSWER))
        first = new_conversation(kustomer_sandbox, mirrored, SPANISH)
        with django_capture_on_commit_callbacks(execute=True):
            classification = conversation_classify(conversation_pk=first.pk)
        state = sandbox_conversation(kustomer_sandbox, first.kustomer_id)
        assert state["conversation"]["attributes"]["custom"]["aiLanguageStr"] == "es"
        decision = classification.autoreply_decisions.get()
        assert (decision.verdict, decision.reason) == ("blocked", "language")
        language = next(c for c in decision.checks if c["check"] == "language")
        assert language["reason"] == "template wismo has no version in the customer's language (es)"
        assert outbound(state) == [] and not AutoReply.objects.exists()

        spanish_version(live.template)
        second = new_conversation(kustomer_sandbox, mirrored, SPANISH)
        with django_capture_on_commit_callbacks(execute=True):
            classification = conversation_classify(conversation_pk=second.pk)
        decision = classification.autoreply_decisions.get()
        assert (decision.verdict, decision.mode) == ("reply", "live")
        assert decision.subject == f"Tu pedido {ORDER_NUMBER}"
        sent = outbound(sandbox_conversation(kustomer_sandbox, second.kustomer_id))
        assert [message_body_text(m["attributes"]) for m in sent] == [decision.body]
        assert decision.body.startswith(f"Tu pedido {ORDER_NUMBER} está en camino con UPS")

    def test_an_unknown_language_gets_the_templates_own_language(
        self, starter, mirrored, classified, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        spanish_version(starter.template)
        conversation = mirrored(CONVERSATION_ID, CUSTOMER_ID, ORDER_NUMBER)
        classification = classified(conversation, order_number=ORDER_NUMBER, language="")
        decision = decide(classification, django_capture_on_commit_callbacks)
        assert decision.verdict == "reply"
        assert decision.subject == f"Your order {ORDER_NUMBER}"

    def test_a_version_in_the_templates_own_language_or_not_a_code_is_refused(self, starter):
        for language in ("en", "ES", "spa"):
            version = ReplyTemplateVersion(template=starter.template, language=language, body="Hola")
            with pytest.raises(ValidationError) as raised:
                version.full_clean()
            assert "language" in raised.value.message_dict


class TestSentiment:
    def test_a_negative_customer_gets_a_person(
        self, live, maya_conversation, classified, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        classification = classified(maya_conversation, order_number=ORDER_NUMBER, sentiment="negative")
        decision = decide(classification, django_capture_on_commit_callbacks)
        assert (decision.verdict, decision.reason) == ("blocked", "sentiment")
        assert BlockReason(decision.reason).label == "Customer upset (negative sentiment)"
        assert outbound(sandbox_conversation(kustomer_sandbox, CONVERSATION_ID)) == []

    def test_switched_off_a_negative_customer_may_get_the_reply(
        self, live, maya_conversation, classified, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        AutoReplySettings.objects.filter(pk=1).update(block_negative_sentiment=False)
        classification = classified(maya_conversation, order_number=ORDER_NUMBER, sentiment="negative")
        decision = decide(classification, django_capture_on_commit_callbacks)
        assert decision.verdict == "reply"
        sentiment = next(c for c in decision.checks if c["check"] == "sentiment")
        assert sentiment == {
            "check": "sentiment",
            "passed": True,
            "reason": "the customer's message reads as negative, but that guardrail is off",
        }


@pytest.fixture
def maya_conversation(mirrored):
    return mirrored(CONVERSATION_ID, CUSTOMER_ID, "Where is my order BS-100234?! Third time I ask.")
