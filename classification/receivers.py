"""Plugs the classification pipeline into the Kustomer dispatch point."""

from kustomer.signals import conversation_needs_classification

from .services.classifying import conversation_classify_enqueue


def on_needs_classification(sender, conversation, **kwargs) -> None:
    conversation_classify_enqueue(conversation=conversation)



def connect() -> None:
    conversation_needs_classification.connect(on_needs_classification, dispatch_uid="classification")
