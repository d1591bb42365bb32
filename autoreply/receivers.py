"""Plugs the auto-reply pipeline into classification's and Kustomer's dispatch points."""

from classification.signals import classification_decided, triage_reviewed
from kustomer.signals import customer_message_received

from .services.deciding import classification_autoreply_enqueue, review_autoreply_enqueue
from .services.escalation import escalation_open


def on_classification_decided(sender, classification, **kwargs) -> None:
    classification_autoreply_enqueue(classification=classification)


def on_triage_reviewed(sender, review, **kwargs) -> None:
    review_autoreply_enqueue(review=review)


def on_customer_message(sender, conversation, message, **kwargs) -> None:
    escalation_open(conversation=conversation, message=message)



def connect() -> None:
    classification_decided.connect(on_classification_decided, dispatch_uid="autoreply")
    triage_reviewed.connect(on_triage_reviewed, dispatch_uid="autoreply")
    customer_message_received.connect(on_customer_message, dispatch_uid="autoreply")
