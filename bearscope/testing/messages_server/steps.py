"""Scripted steps: what the local Messages API server does for one model call."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_TEXT = "This is a reply from the local Messages API stand-in."
REFUSAL_TEXT = "I can't help with that request."

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error.",
    "overloaded_error": "Overloaded",
}


@dataclass(frozen=True)
class Reply:
    """A normal message whose content is a single text block."""

    text: str
    stop_reason: str = "end_turn"
    stop_details: dict[str, Any] | None = None


@dataclass(frozen=True)
class ErrorReply:
    """An API error: `{"type": "error", "error": {"type", "message"}}` with `status`."""

    status: int
    type: str
    message: str
    retry_after: float | str | None = None
    retry_after_ms: float | None = None


@dataclass(frozen=True)
class Hang:
    """Wait `seconds` (plus the server's latency), then answer with `then` or the responder's step."""

    seconds: float
    then: Step | None = None


@dataclass(frozen=True)
class ResponderReply:
    """Answer as the responder would: lets a script put a normal answer between scripted failures."""


Step = Reply | ErrorReply | Hang | ResponderReply
Responder = Callable[[dict[str, Any]], Any]


def reply_json(obj_or_text: Any, *, stop_reason: str = "end_turn") -> Reply:
    """A reply whose text is `json.dumps(obj)`, or the string as given (e.g. truncated JSON)."""
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
    return Reply(text=text, stop_reason=stop_reason)


def refusal(text: str = REFUSAL_TEXT, *, category: str | None = None) -> Reply:
    """A refusal: `stop_reason == "refusal"`, a short non-JSON text and `stop_details`."""
    details = {"type": "refusal", "category": category, "explanation": None}
    return Reply(text=text, stop_reason="refusal", stop_details=details)


def error(
    status: int,
    type: str | None = None,
    message: str | None = None,
    *,
    retry_after: float | str | None = None,
    retry_after_ms: float | None = None,
) -> ErrorReply:
    """An API error; `type` and `message` default from the status (529 -> overloaded_error)."""
    error_type = type or _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return ErrorReply(
        status=status,
        type=error_type,
        message=message or _ERROR_MESSAGES.get(error_type, error_type),
        retry_after=retry_after,
        retry_after_ms=retry_after_ms,
    )


def hang(seconds: float, then: Step | None = None) -> Hang:
    """Sleep `seconds` before answering (to outlast a client's timeout), then answer normally."""
    return Hang(seconds=seconds, then=then)


def default_reply() -> ResponderReply:
    """The responder's normal answer, as a scripted step."""
    return ResponderReply()


def repeat(step: Step, times: int) -> list[Step]:
    """The same step `times` times, for `server.script(repeat(error(529), 3), ...)`."""
    return [step] * times
