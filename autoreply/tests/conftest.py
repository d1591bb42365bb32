"""Fixtures of the auto-reply tests: the e-commerce starter, conversations mirrored from the sandbox."""

from collections.abc import Callable

import pytest
import requests
from django.utils import timezone

from autoreply.models import AutoReplyPolicy, Mode
from autoreply.starter import starter_load
from bearscope.testing.factories import UserFactory, role_group
from classification.models import Classification, Intent
from kustomer.models import Conversation, Customer, Message
from kustomer.tests.sandbox_fixtures import SANDBOX_ORG


@pytest.fixture
def starter(db) -> AutoReplyPolicy:
    """The ecommerce starter: the WISMO policy (shipping_issue / status) in shadow mode, switch on."""
    return starter_load(starter="ecommerce").policy


@pytest.fixture
def live(starter) -> AutoReplyPolicy:
    AutoReplyPolicy.objects.filter(pk=starter.pk).update(mode=Mode.LIVE)
    starter.refresh_from_db()
    return starter


@pytest.fixture
def mirrored(db) -> Callable[..., Conversation]:
    """A conversation of the sandbox's seed as BearScope's mirror holds it, with one customer message."""

    def make(
        conversation_id: str,
        customer_id: str,
        text: str,
        *,
        channel: str = "email",
        meta: dict | None = None,
    ) -> Conversation:
        customer = Customer.objects.get_or_create(org=SANDBOX_ORG, kustomer_id=customer_id)[0]
        conversation = Conversation.objects.create(
            org=SANDBOX_ORG, kustomer_id=conversation_id, customer=customer, channels=[channel], status="open"
        )
        Message.objects.create(
            org=SANDBOX_ORG,
            kustomer_id=f"in-{conversation_id}",
            conversation=conversation,
            customer=customer,
            direction="in",
            channel=channel,
            body=text,
            meta=meta or {},
            sent_at=timezone.now(),
        )
        return conversation

    return make


@pytest.fixture
def classified(db) -> Callable[..., Classification]:
    """A decided classification, as the classifier would have saved it."""

    def make(
        conversation: Conversation,
        *,
        intent: str = "shipping_issue",
        sub_intent: str | None = "status",
        confidence: float = 0.98,
        order_number: str | None = None,
        language: str = "en",
        sentiment: str = "neutral",
    ) -> Classification:
        top = Intent.objects.get(key=intent, parent=None)
        return Classification.objects.create(
            conversation=conversation,
            status=Classification.Status.DONE,
            intent=top,
            sub_intent=Intent.objects.get(key=sub_intent, parent=top) if sub_intent else None,
            confidence=confidence,
            entities={"order_number": order_number, "email": None},
            language=language,
            sentiment=sentiment,
            route=Classification.Route.AUTO,
            classified_at=timezone.now(),
        )

    return make


def sandbox_conversation(sandbox, conversation_id: str) -> dict:
    """Everything the sandbox holds for a conversation: attributes, messages, notes, drafts."""
    response = requests.get(sandbox.url(f"/_sandbox/state/conversations/{conversation_id}"), timeout=5)
    response.raise_for_status()
    return response.json()


def outbound(state: dict) -> list[dict]:
    return [m for m in state["messages"] if m["attributes"]["direction"] == "out"]


@pytest.fixture
def reply_reviewer(db):
    """Signed in with the "Reply reviewers" group the migration made."""
    user = UserFactory(username="sam", first_name="Sam", last_name="Lee")
    user.groups.add(role_group("Reply reviewers"))
    return user
