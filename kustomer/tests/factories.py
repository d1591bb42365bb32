"""factory-boy factories for the Kustomer mirror and webhook events."""

import json

import factory
from django.utils import timezone

from kustomer.models import Conversation, Customer, Message, WebhookEvent


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kustomer_id = factory.Sequence(lambda n: f"cust{n:020d}")
    name = factory.Faker("name")
    emails = factory.LazyAttribute(lambda o: [f"{o.kustomer_id}@example.com"])


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    kustomer_id = factory.Sequence(lambda n: f"conv{n:020d}")
    customer = factory.SubFactory(CustomerFactory)
    status = "open"
    channels = factory.LazyFunction(lambda: ["email"])
    rev = 1


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    kustomer_id = factory.Sequence(lambda n: f"msg{n:021d}")
    conversation = factory.SubFactory(ConversationFactory)
    customer = factory.SelfAttribute("conversation.customer")
    direction = Message.Direction.IN
    channel = "email"
    body = "Where is my order?"
    sent_at = factory.LazyFunction(timezone.now)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    org = "org-test"
    event_id = factory.Sequence(lambda n: f"evt{n:021d}")
    name = "kustomer.conversation.create"
    body = factory.LazyAttribute(
        lambda o: json.dumps(
            {
                "id": o.event_id,
                "name": o.name,
                "org": o.org,
                "data": {"type": "conversation", "id": "conv-factory"},
            }
        )
    )
    received_at = factory.LazyFunction(timezone.now)
