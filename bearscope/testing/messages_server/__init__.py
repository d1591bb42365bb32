"""A local HTTP server that speaks enough of Anthropic's Messages and Message Batches API for the real SDK."""

from .schema import example_for_schema, output_schema, schema_responder
from .server import MessagesServer
from .steps import (
    DEFAULT_TEXT,
    REFUSAL_TEXT,
    ErrorReply,
    Hang,
    Reply,
    Responder,
    ResponderReply,
    Step,
    default_reply,
    error,
    hang,
    refusal,
    repeat,
    reply_json,
)
from .usage import MAX_CACHE_BREAKPOINTS, estimate_tokens

__all__ = [
    "DEFAULT_TEXT",
    "MAX_CACHE_BREAKPOINTS",
    "REFUSAL_TEXT",
    "ErrorReply",
    "Hang",
    "MessagesServer",
    "Reply",
    "Responder",
    "ResponderReply",
    "Step",
    "default_reply",
    "error",
    "estimate_tokens",
    "example_for_schema",
    "hang",
    "output_schema",
    "refusal",
    "repeat",
    "reply_json",
    "schema_responder",
]
