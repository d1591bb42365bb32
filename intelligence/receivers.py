"""Plugs the intelligence pipeline into the Kustomer dispatch point."""

from kustomer.signals import conversation_resolved

from .services import analysis_schedule


def on_resolved(sender, conversation, occurrence, resolved_at, **kwargs) -> None:
    analysis_schedule(conversation=conversation, occurrence=occurrence, resolved_at=resolved_at)


def connect() -> None:
    conversation_resolved.connect(on_resolved, dispatch_uid="intelligence")
