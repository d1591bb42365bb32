"""What a conversation sends to a model, redacted: one Redactor per conversation, the same for every caller.

Classification, re-classification, backtests and insights extraction all build their input here, so
the same text gets the same placeholders whoever sends it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bearscope.pii import KnownPerson, Redactor
from kustomer.models import Conversation, Customer, Message
from kustomer.payloads import customer_record_names, customer_record_phones

from .models import ClassifierSettings
from .prompting import conversation_text

ValueT = TypeVar("ValueT")
# A promoted example is one message's gist, not a whole thread.
EXAMPLE_MAX_CHARS = 500


@dataclass(frozen=True)
class PromptInput:
    """The conversation part of a prompt as the model sees it, and the redactor that made it.

    Keep it in memory for the length of the call only: the redactor's mapping is the personal data.
    """

    text: str
    redactor: Redactor | None  # None: redaction is off in the classifier settings

    def restore(self, value: ValueT) -> ValueT:
        """The model's answer with the placeholders mapped back to what they stand for."""
        return self.redactor.restore(value) if self.redactor else value

    @property
    def counts(self) -> dict[str, int]:
        """Distinct personal items replaced, per kind; empty when redaction is off."""
        return self.redactor.counts() if self.redactor else {}


def _customer(conversation: Conversation) -> Customer | None:
    if conversation.customer_id:
        return conversation.customer
    first = conversation.messages.filter(customer__isnull=False).select_related("customer").first()
    return first.customer if first else None


def conversation_redactor(*, conversation: Conversation, region: str | None = None) -> Redactor:
    """A fresh Redactor that knows the conversation's customer as Kustomer's record has them."""
    customer = _customer(conversation)
    known = KnownPerson()
    if customer is not None:
        known = KnownPerson.of(
            names=[customer.name, *customer_record_names(customer.attributes)],
            emails=customer.emails,
            phones=customer_record_phones(customer.attributes),
        )
    return Redactor(known=known, region=region or ClassifierSettings.load().phone_region or "US")


def prompt_redactor(
    *, conversation: Conversation, config: ClassifierSettings | None = None
) -> Redactor | None:
    """The conversation's redactor when redaction is on (the default), None when an admin turned it off."""
    config = config or ClassifierSettings.load()
    if not config.redact_personal_data:
        return None
    return conversation_redactor(conversation=conversation, region=config.phone_region)


def prompt_input_build(
    *,
    conversation: Conversation,
    config: ClassifierSettings | None = None,
    render: Callable[..., str] | None = None,
) -> PromptInput:
    """The conversation's text for a model, each part redacted before it is cut to the budget.

    `render(conversation, clean=...)` lays the text out; the classifier's layout by default.
    """
    config = config or ClassifierSettings.load()
    redactor = prompt_redactor(conversation=conversation, config=config)
    if render is None:

        def render(conversation: Conversation, *, clean: Callable[[str], str]) -> str:
            return conversation_text(conversation, config.conversation_char_budget, clean=clean)

    clean = redactor.redact if redactor else str
    return PromptInput(text=render(conversation, clean=clean), redactor=redactor)


def example_text(*, conversation: Conversation) -> str:
    """A conversation's subject and customer messages as a few-shot example: always redacted, cut short."""
    redactor = conversation_redactor(conversation=conversation)
    messages = conversation.messages.filter(direction=Message.Direction.IN).order_by("sent_at", "pk")
    parts = [conversation.name, *(m.body.strip() for m in messages)]
    text = "\n".join(redactor.redact(p) for p in parts if p and p.strip())
    return text[:EXAMPLE_MAX_CHARS]
