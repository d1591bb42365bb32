"""Plugs the classification pipeline into the Kustomer dispatch point."""

from kustomer.signals import conversation_needs_classification, customer_message_received

from .services.classifying import conversation_classify_enqueue
from .services.reclassifying import reclassification_request


def on_needs_classification(sender, conversation, **kwargs) -> None:
    conversation_classify_enqueue(conversation=conversation)


def on_customer_message(sender, conversation, message, **kwargs) -> None:
    reclassification_request(conversation=conversation, message=message)


def connect() -> None:
    conversation_needs_classification.connect(on_needs_classification, dispatch_uid="classification")
    customer_message_received.connect(on_customer_message, dispatch_uid="classification")
