"""Plugs the intelligence pipeline into the Kustomer dispatch point."""

from kustomer.signals import conversation_resolved

from .services import analysis_schedule


def on_resolved(sender, conversation, occurrence, event=None, **kwargs) -> None:
    analysis_schedule(conversation=conversation, occurrence=occurrence, event=event)


def connect() -> None:
    conversation_resolved.connect(on_resolved, dispatch_uid="intelligence")
