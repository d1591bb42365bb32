"""Answers as the API shapes them: a status and JSON payload, errors with request ids, timestamps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .steps import ErrorReply


@dataclass
class Response:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def error_response(step: ErrorReply) -> Response:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` with the step's status and headers."""
    rid = request_id()
    headers = {"request-id": rid}
    if step.retry_after is not None:
        headers["retry-after"] = str(step.retry_after)
    if step.retry_after_ms is not None:
        headers["retry-after-ms"] = str(step.retry_after_ms)
    payload = {
        "type": "error",
        "error": {"type": step.type, "message": step.message},
        "request_id": rid,
    }
    return Response(step.status, payload, headers)


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
