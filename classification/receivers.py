"""Plugs the classification pipeline into the Kustomer dispatch point."""

from kustomer.signals import conversation_needs_classification, own_custom_attribute_sources

from .models import ClassifierSettings
from .services import conversation_classify_enqueue


def on_needs_classification(sender, conversation, **kwargs) -> None:
    conversation_classify_enqueue(conversation=conversation)


def attribute_names() -> list[str]:
    return ClassifierSettings.load().attribute_names()


def connect() -> None:
    conversation_needs_classification.connect(on_needs_classification, dispatch_uid="classification")
    if attribute_names not in own_custom_attribute_sources:
        own_custom_attribute_sources.append(attribute_names)
