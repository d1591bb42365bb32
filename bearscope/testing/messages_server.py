"""A local HTTP server that speaks enough of Anthropic's Messages and Message Batches API for the real SDK."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "DEFAULT_TEXT",
    "ErrorReply",
    "Hang",
    "MessagesServer",
    "Reply",
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

DEFAULT_TEXT = "This is a reply from the local Messages API stand-in."
REFUSAL_TEXT = "I can't help with that request."
MAX_CACHE_BREAKPOINTS = 4  # the real API rejects a request with more

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


# --- Steps: what the server does for one model call ------------------------------------------------


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


# --- Schema-driven answers -------------------------------------------------------------------------

# `anthropic.transform_schema` moves constraints the API does not support (minimum, maxLength, ...)
# into the description as "{minimum: 0, maximum: 1}", so they are read back from there too.
_CONSTRAINT_KEYS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
_DESCRIPTION_CONSTRAINT = re.compile(
    r"\b(" + "|".join(_CONSTRAINT_KEYS) + r")\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
)
_CONFIDENCE_NAME = re.compile(r"confidence|probability|certainty|likelihood|score", re.IGNORECASE)
_FORMAT_EXAMPLES = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "duration": "P1D",
    "email": "customer@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_WORD = "example"


def estimate_tokens(text: str) -> int:
    """The server's token estimate: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def output_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks the reply to match (`output_config.format.schema`), if any."""
    output_config = body.get("output_config")
    if not isinstance(output_config, Mapping):
        return None
    fmt = output_config.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    return None


def _constraints(schema: Mapping[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    description = schema.get("description")
    if isinstance(description, str):
        for key, value in _DESCRIPTION_CONSTRAINT.findall(description):
            found[key] = float(value)
    for key in _CONSTRAINT_KEYS:
        value = schema.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = float(value)
    return found


def _resolve(schema: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    # Follows local refs such as "#/$defs/Order" (how pydantic emits nested models and enums).
    seen: set[str] = set()
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen or not ref.startswith("#"):
            return {}
        seen.add(ref)
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **siblings} if isinstance(target, Mapping) else {}
    return dict(schema) if isinstance(schema, Mapping) else {}


def _number(name: str, limits: Mapping[str, float], integer: bool) -> float | int:
    low = limits.get("minimum")
    high = limits.get("maximum")
    low_x = limits.get("exclusiveMinimum")
    high_x = limits.get("exclusiveMaximum")

    def allowed(value: float) -> bool:
        return (
            (low is None or value >= low)
            and (high is None or value <= high)
            and (low_x is None or value > low_x)
            and (high_x is None or value < high_x)
        )

    bottom = low if low is not None else low_x
    top = high if high is not None else high_x
    candidates: list[float] = []
    if _CONFIDENCE_NAME.search(name):
        # Classifiers are usually confident in tests; 95 for 0-100 integer scales.
        candidates.append(95 if integer else 0.95)
    candidates.append(0)
    if bottom is not None:
        candidates += [bottom, bottom + 1]
    if top is not None:
        candidates += [top, top - 1]
    if bottom is not None and top is not None:
        candidates.append((bottom + top) / 2)
    for candidate in candidates:
        value = math.floor(candidate) if integer else candidate
        if allowed(value):
            return int(value) if integer else float(value)
    return int(bottom or 0) if integer else float(bottom or 0)


def _string(schema: Mapping[str, Any], limits: Mapping[str, float]) -> str:
    fmt = schema.get("format")
    text = _FORMAT_EXAMPLES.get(fmt, _WORD) if isinstance(fmt, str) else _WORD
    min_length = int(limits.get("minLength", 0))
    max_length = limits.get("maxLength")
    if len(text) < min_length:
        text = (text * (min_length // max(len(text), 1) + 1))[:min_length]
    if max_length is not None:
        text = text[: int(max_length)]
    return text


def _example(
    schema: Any,
    root: Mapping[str, Any],
    name: str,
    prefer: Mapping[str, Sequence[Any]],
    depth: int,
) -> Any:
    if depth > 32:  # a recursive model: stop with the most permissive value
        return None
    node = _resolve(schema, root)
    if isinstance(node.get("allOf"), list):
        merged: dict[str, Any] = {key: value for key, value in node.items() if key != "allOf"}
        for part in node["allOf"]:
            merged.update(_resolve(part, root))
        node = merged
    candidates = prefer.get(name, ())

    if "const" in node:
        return node["const"]
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return next((value for value in candidates if value in enum), enum[0])

    variants = node.get("anyOf") or node.get("oneOf")
    if isinstance(variants, list) and variants:
        resolved = [_resolve(variant, root) for variant in variants]
        for variant in resolved:
            if candidates and any(value in (variant.get("enum") or ()) for value in candidates):
                return _example(variant, root, name, prefer, depth + 1)
        if any(variant.get("type") == "null" for variant in resolved):
            return None
        return _example(resolved[0], root, name, prefer, depth + 1)

    type_ = node.get("type")
    if isinstance(type_, list):
        if "null" in type_:
            return None
        type_ = type_[0] if type_ else None
    limits = _constraints(node)

    if type_ == "object" or (type_ is None and "properties" in node):
        properties = node.get("properties") or {}
        # Every property, not only the required ones: always valid, and closer to what a model writes.
        return {key: _example(value, root, key, prefer, depth + 1) for key, value in properties.items()}
    if type_ == "array":
        count = int(limits.get("minItems", 0))
        return [_example(node.get("items", {}), root, name, prefer, depth + 1) for _ in range(count)]
    if type_ == "string":
        return _string(node, limits)
    if type_ in ("integer", "number"):
        return _number(name, limits, integer=type_ == "integer")
    if type_ == "boolean":
        return False
    return None


def example_for_schema(
    schema: Mapping[str, Any], *, prefer: Mapping[str, Sequence[Any]] | None = None
) -> Any:
    """A valid instance of `schema`: first enum values, in-range numbers (confidence-like -> 0.95),
    "example" strings, false, null for nullables, empty arrays. `prefer` maps a property name to
    values to use instead when the property's enum allows one of them."""
    return _example(schema, schema, "", prefer or {}, 0)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block.get("text", "")
            for block in content
            if isinstance(block, Mapping) and block.get("type") == "text"
        )
    return ""


def _last_user_text(body: Mapping[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def schema_responder(
    body: Mapping[str, Any],
    *,
    keyword_intents: Mapping[str, str] | None = None,
    keyword_field: str = "intent",
) -> Reply:
    """The default answer: a valid instance of the requested JSON schema, or DEFAULT_TEXT without one.

    With `keyword_intents` ({"where is my order": "order_status"}), the `keyword_field` property
    takes the intent of the first keyword found (case-insensitively) in the last user message,
    when the property's enum allows it.
    """
    schema = output_schema(body)
    if schema is None:
        return Reply(DEFAULT_TEXT)
    prefer: dict[str, list[Any]] = {}
    if keyword_intents:
        text = _last_user_text(body).lower()
        matches = [intent for keyword, intent in keyword_intents.items() if keyword.lower() in text]
        if matches:
            prefer[keyword_field] = matches
    return reply_json(example_for_schema(schema, prefer=prefer))


# --- Prompt caching emulation ----------------------------------------------------------------------


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, Mapping):
        if isinstance(block.get("text"), str):
            return block["text"]
        # Tool results, images and the like: their JSON is a fair stand-in for their size.
        return json.dumps(
            {key: value for key, value in block.items() if key != "cache_control"}, sort_keys=True
        )
    return ""


def _prompt_blocks(body: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(role, text, cache_control) for every system block then every message content block, in order."""
    blocks: list[tuple[str, str, Any]] = []
    system = body.get("system")
    if isinstance(system, str):
        blocks.append(("system", system, None))
    elif isinstance(system, list):
        blocks += [
            ("system", _block_text(b), b.get("cache_control") if isinstance(b, Mapping) else None)
            for b in system
        ]
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, list):
            blocks += [
                (role, _block_text(b), b.get("cache_control") if isinstance(b, Mapping) else None)
                for b in content
            ]
        else:
            blocks.append((role, _block_text(content), None))
    # Top-level cache_control puts the marker on the last block, as the API does.
    if isinstance(body.get("cache_control"), Mapping) and blocks:
        role, text, marker = blocks[-1]
        blocks[-1] = (role, text, marker or body["cache_control"])
    return blocks


def _is_breakpoint(marker: Any) -> bool:
    return isinstance(marker, Mapping) and marker.get("type") == "ephemeral"


# --- The server ------------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class _Batch:
    id: str
    created_at: datetime
    ready_at: float
    results: list[dict[str, Any]]
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _credentials(headers: Mapping[str, str]) -> set[str]:
    # SDK 2.x sends `api_key` as "Authorization: Bearer ..."; older clients and curl use x-api-key.
    found = {headers.get("x-api-key", "")}
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        found.add(token)
    return found - {""}


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: MessagesServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected (hang steps); anything else is a bug to show.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.owner._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.owner._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.owner._handle(self, "DELETE")


_BATCH_PATH = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)(?P<rest>/results|/cancel)?$")


class MessagesServer:
    """A threaded local stand-in for `POST /v1/messages` and the Message Batches endpoints.

    Use it with the real SDK::

        with MessagesServer(min_cacheable_tokens=64) as server:
            client = anthropic.Anthropic(api_key="test", base_url=server.base_url, max_retries=0, timeout=5)
            server.script(error(429, retry_after_ms=10), reply_json({"intent": "other"}))
            client.messages.create(...)

    Each model call (direct, or one request of a batch) takes the next scripted step, in order;
    when none is left it asks `responder(body)`, which returns a Step (or any other value, sent
    as its JSON). The default responder is `schema_responder`: a valid instance of the JSON schema
    in `output_config.format`, with `keyword_intents` steering the `intent` field.

    Answers are realistic where our code depends on them:
    - usage: tokens are ceil(chars / 4) of the system and message text. Prompt caching: a block
      marked `cache_control: {"type": "ephemeral"}` (or the last block, with a top-level
      `cache_control`) ends a cacheable prefix when the prefix has at least `min_cacheable_tokens`.
      The longest prefix already cached within its TTL (`cache_ttl_seconds`, or 3600 for
      `ttl: "1h"`) counts as `cache_read_input_tokens` and is refreshed; the rest up to the last
      eligible breakpoint counts as `cache_creation_input_tokens` and is stored; `input_tokens` is
      what remains. More than 4 breakpoints is a 400, as on the real API. Keyed by model.
    - a reply longer than `max_tokens` (ceil(chars / 4)) is cut there with `stop_reason="max_tokens"`.
    - every answer to `POST /v1/messages` waits `latency_ms` (a number, or a (low, high) range
      drawn uniformly); requests are served concurrently, so latency does not serialise them.
    - batches: every request is answered when the batch is created (consuming scripted steps in
      request order, no latency, hangs skipped); the batch reports `in_progress` until
      `batch_delay_seconds` have passed, then `ended` with a `results_url` on this server.
      An ErrorReply step gives an `errored` result.
    - `api_key`, when given, must come as `Authorization: Bearer` (what SDK 2.x sends) or
      `x-api-key`; otherwise 401.

    `requests` records every request (method, path, headers with lower-case names, parsed JSON
    body, then the answer's status); `errors` holds exceptions raised inside the server.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        responder: Responder | None = None,
        latency_ms: float | tuple[float, float] = 0,
        keyword_intents: Mapping[str, str] | None = None,
        keyword_field: str = "intent",
        min_cacheable_tokens: int = 1024,
        cache_ttl_seconds: float = 300,
        batch_delay_seconds: float = 0.0,
        api_key: str | None = None,
    ) -> None:
        self.responder = responder
        self.latency_ms = latency_ms
        self.keyword_intents = dict(keyword_intents or {})
        self.keyword_field = keyword_field
        self.min_cacheable_tokens = min_cacheable_tokens
        self.cache_ttl_seconds = cache_ttl_seconds
        self.batch_delay_seconds = batch_delay_seconds
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._steps: deque[Step] = deque()
        self._cache: dict[str, float] = {}  # prefix hash -> monotonic expiry
        self._batches: dict[str, _Batch] = {}
        self._stopping = threading.Event()
        self._server = _HTTPServer((host, port), _Handler)
        self._server.owner = self
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="messages-server",
            daemon=True,
        )
        self._thread.start()

    # Public API

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> MessagesServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, *steps: Step | Iterable[Step]) -> None:
        """Queue one-shot steps (or lists of them, as `repeat` makes), used before the responder."""
        flat: list[Step] = []
        for item in steps:
            if isinstance(item, Reply | ErrorReply | Hang | ResponderReply):
                flat.append(item)
            else:
                flat.extend(item)
        with self._lock:
            self._steps.extend(flat)

    @property
    def scripted_remaining(self) -> int:
        """How many scripted steps have not been used yet."""
        with self._lock:
            return len(self._steps)

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        """The recorded `POST /v1/messages` requests."""
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/messages"]

    def reset(self) -> None:
        """Forget scripted steps, recorded requests, errors, the prompt cache and batches."""
        with self._lock:
            self._steps.clear()
            self.requests.clear()
            self.errors.clear()
            self._cache.clear()
            self._batches.clear()

    def stop(self) -> None:
        """Stop serving; hanging answers are cut short. Safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # Request handling

    def _handle(self, handler: _Handler, method: str) -> None:
        path, _, query = handler.path.partition("?")
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        record: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "headers": {key.lower(): value for key, value in handler.headers.items()},
            "body": None,
            "received_at": time.time(),
        }
        with self._lock:
            self.requests.append(record)
        try:
            if raw:
                try:
                    record["body"] = json.loads(raw)
                except ValueError:
                    response = self._error_response(error(400, message="The request body is not valid JSON."))
                else:
                    response = self._route(method, path, record)
            else:
                response = self._route(method, path, record)
        except Exception as exc:  # a bug in the stand-in: answer like the API would, and keep it for tests
            with self._lock:
                self.errors.append(exc)
            response = self._error_response(error(500, message=f"messages server error: {exc!r}"))
        record["status"] = response.status
        self._send(handler, response)

    def _send(self, handler: _Handler, response: _Response) -> None:
        if isinstance(response.payload, bytes):
            data = response.payload
        else:
            data = json.dumps(response.payload).encode()
        headers = {"request-id": _request_id(), **response.headers}
        try:
            handler.send_response(response.status)
            handler.send_header("content-type", response.content_type)
            handler.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except (ConnectionError, TimeoutError):
            # The client gave up (its timeout during a hang step): nothing to answer.
            handler.close_connection = True

    def _route(self, method: str, path: str, record: dict[str, Any]) -> _Response:
        if self.api_key is not None and self.api_key not in _credentials(record["headers"]):
            return self._error_response(error(401))
        body = record["body"]
        if path == "/v1/messages" and method == "POST":
            return self._message_call(body)
        if path == "/v1/messages/count_tokens" and method == "POST":
            blocks = _prompt_blocks(body if isinstance(body, Mapping) else {})
            return _Response(200, {"input_tokens": estimate_tokens("".join(text for _, text, _ in blocks))})
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._create_batch(body)
            if method == "GET":
                return self._list_batches()
        match = _BATCH_PATH.match(path)
        if match:
            batch_id, rest = match["id"], match["rest"]
            if rest is None and method == "GET":
                return self._retrieve_batch(batch_id)
            if rest is None and method == "DELETE":
                return self._delete_batch(batch_id)
            if rest == "/results" and method == "GET":
                return self._batch_results(batch_id)
            if rest == "/cancel" and method == "POST":
                return self._cancel_batch(batch_id)
        return self._error_response(error(404, message=f"{method} {path} is not served here."))

    # Messages

    def _validate(self, body: Any) -> ErrorReply | None:
        if not isinstance(body, Mapping):
            return error(400, message="The request body must be a JSON object.")
        if not isinstance(body.get("model"), str) or not body["model"]:
            return error(400, message="model: Field required")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return error(400, message="max_tokens: Field required and must be a positive integer")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return error(400, message="messages: at least one message is required")
        if body.get("stream"):
            return error(400, message="stream: streaming is not supported by the local messages server")
        breakpoints = sum(_is_breakpoint(marker) for _, _, marker in _prompt_blocks(body))
        if breakpoints > MAX_CACHE_BREAKPOINTS:
            return error(
                400,
                message=f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {breakpoints}.",
            )
        return None

    def _next_step(self, body: dict[str, Any]) -> Step:
        with self._lock:
            step: Step = self._steps.popleft() if self._steps else ResponderReply()
        return step

    def _responder_step(self, body: dict[str, Any]) -> Step:
        if self.responder is None:
            return schema_responder(
                body, keyword_intents=self.keyword_intents, keyword_field=self.keyword_field
            )
        result = self.responder(body)
        if isinstance(result, Reply | ErrorReply | Hang | ResponderReply):
            return result
        return reply_json(result)

    def _latency_seconds(self) -> float:
        latency = self.latency_ms
        if isinstance(latency, tuple):
            return random.uniform(*latency) / 1000
        return latency / 1000

    def _message_call(self, body: Any) -> _Response:
        problem = self._validate(body)
        if problem is not None:
            return self._error_response(problem)
        step = self._next_step(body)
        delay = self._latency_seconds()
        # Hangs and responder steps may nest (a responder can return a hang); bound the unwrapping.
        for _ in range(10):
            if isinstance(step, Hang):
                delay += step.seconds
                step = step.then or ResponderReply()
            elif isinstance(step, ResponderReply):
                step = self._responder_step(body)
            else:
                break
        if delay > 0:
            self._stopping.wait(delay)
        if isinstance(step, ErrorReply):
            return self._error_response(step)
        if not isinstance(step, Reply):
            step = Reply(DEFAULT_TEXT)
        return _Response(200, self._message(step, body, service_tier="standard"))

    def _message(self, reply: Reply, body: Mapping[str, Any], *, service_tier: str) -> dict[str, Any]:
        text, stop_reason = reply.text, reply.stop_reason
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and estimate_tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                **self._usage(body),
                "output_tokens": estimate_tokens(text),
                "service_tier": service_tier,
            },
        }
        if reply.stop_details is not None and stop_reason == reply.stop_reason:
            message["stop_details"] = reply.stop_details
        return message

    def _usage(self, body: Mapping[str, Any]) -> dict[str, int]:
        blocks = _prompt_blocks(body)
        model = str(body.get("model"))
        total_chars = 0
        digest = hashlib.sha256(model.encode())
        # (prefix tokens, prefix hash, ttl) for every breakpoint long enough to be cached
        eligible: list[tuple[int, str, float]] = []
        for role, text, marker in blocks:
            total_chars += len(text)
            digest.update(json.dumps([role, text]).encode())
            if _is_breakpoint(marker):
                tokens = math.ceil(total_chars / 4)
                if tokens >= self.min_cacheable_tokens:
                    ttl = 3600.0 if marker.get("ttl") == "1h" else float(self.cache_ttl_seconds)
                    eligible.append((tokens, digest.copy().hexdigest(), ttl))
        total = math.ceil(total_chars / 4)
        read = created = 0
        now = time.monotonic()
        with self._lock:
            hit = -1
            for index in range(len(eligible) - 1, -1, -1):
                tokens, key, ttl = eligible[index]
                if self._cache.get(key, 0) > now:
                    hit, read = index, tokens
                    self._cache[key] = now + ttl  # a read refreshes the entry, as on the API
                    break
            for _tokens, key, ttl in eligible[hit + 1 :]:
                self._cache[key] = now + ttl
            if eligible and hit < len(eligible) - 1:
                created = eligible[-1][0] - read
        return {
            "input_tokens": total - read - created,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }

    def _error_response(self, step: ErrorReply) -> _Response:
        request_id = _request_id()
        headers = {"request-id": request_id}
        if step.retry_after is not None:
            headers["retry-after"] = str(step.retry_after)
        if step.retry_after_ms is not None:
            headers["retry-after-ms"] = str(step.retry_after_ms)
        payload = {
            "type": "error",
            "error": {"type": step.type, "message": step.message},
            "request_id": request_id,
        }
        return _Response(step.status, payload, headers)

    # Batches

    def _batch_item(self, params: dict[str, Any]) -> dict[str, Any]:
        problem = self._validate(params)
        step: Step = problem or self._next_step(params)
        for _ in range(10):
            if isinstance(step, Hang):  # a batch has no client waiting: skip the wait
                step = step.then or ResponderReply()
            elif isinstance(step, ResponderReply):
                step = self._responder_step(params)
            else:
                break
        if isinstance(step, ErrorReply):
            return {"type": "errored", "error": self._error_response(step).payload}
        if not isinstance(step, Reply):
            step = Reply(DEFAULT_TEXT)
        return {"type": "succeeded", "message": self._message(step, params, service_tier="batch")}

    def _create_batch(self, body: Any) -> _Response:
        requests = body.get("requests") if isinstance(body, Mapping) else None
        if not isinstance(requests, list) or not requests:
            return self._error_response(error(400, message="requests: at least one request is required"))
        custom_ids = [item.get("custom_id") if isinstance(item, Mapping) else None for item in requests]
        named = all(isinstance(cid, str) and cid for cid in custom_ids)
        if not named or len(set(custom_ids)) != len(custom_ids):
            return self._error_response(error(400, message="requests: each needs a unique custom_id"))
        if not all(isinstance(item.get("params"), dict) for item in requests):
            return self._error_response(error(400, message="requests: each needs params"))
        results = [
            {"custom_id": item["custom_id"], "result": self._batch_item(item["params"])} for item in requests
        ]
        batch = _Batch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            created_at=_now(),
            ready_at=time.monotonic() + self.batch_delay_seconds,
            results=results,
        )
        with self._lock:
            self._batches[batch.id] = batch
        # The API always answers a create with in_progress; a poll shows the end.
        return _Response(200, self._batch_json(batch, allow_end=False))

    def _ended(self, batch: _Batch) -> bool:
        if batch.ended_at is None and time.monotonic() >= batch.ready_at:
            batch.ended_at = _now()
        return batch.ended_at is not None

    def _batch_json(self, batch: _Batch, *, allow_end: bool = True) -> dict[str, Any]:
        ended = allow_end and self._ended(batch)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for item in batch.results:
                counts[item["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.results)
        if ended:
            status = "ended"
        elif batch.cancel_initiated_at:
            status = "canceling"
        else:
            status = "in_progress"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _timestamp(batch.created_at),
            "expires_at": _timestamp(batch.created_at + timedelta(hours=24)),
            "ended_at": _timestamp(batch.ended_at) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": _timestamp(batch.cancel_initiated_at),
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _get_batch(self, batch_id: str) -> _Batch | None:
        with self._lock:
            return self._batches.get(batch_id)

    def _batch_not_found(self, batch_id: str) -> _Response:
        return self._error_response(error(404, message=f"No message batch with id {batch_id}."))

    def _retrieve_batch(self, batch_id: str) -> _Response:
        batch = self._get_batch(batch_id)
        if batch is None:
            return self._batch_not_found(batch_id)
        return _Response(200, self._batch_json(batch))

    def _list_batches(self) -> _Response:
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: b.created_at, reverse=True)
        data = [self._batch_json(batch) for batch in batches]
        return _Response(
            200,
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )

    def _batch_results(self, batch_id: str) -> _Response:
        batch = self._get_batch(batch_id)
        if batch is None:
            return self._batch_not_found(batch_id)
        if not self._ended(batch):
            return self._error_response(error(400, message=f"Message batch {batch_id} is still processing."))
        lines = "".join(json.dumps(item) + "\n" for item in batch.results)
        return _Response(200, lines.encode(), content_type="application/binary")

    def _cancel_batch(self, batch_id: str) -> _Response:
        batch = self._get_batch(batch_id)
        if batch is None:
            return self._batch_not_found(batch_id)
        if not self._ended(batch):
            batch.cancel_initiated_at = _now()
            batch.results = [
                {"custom_id": item["custom_id"], "result": {"type": "canceled"}} for item in batch.results
            ]
            payload = self._batch_json(batch, allow_end=False)
            batch.ready_at = time.monotonic()  # the next poll shows it ended
            return _Response(200, payload)
        return _Response(200, self._batch_json(batch))

    def _delete_batch(self, batch_id: str) -> _Response:
        with self._lock:
            batch = self._batches.pop(batch_id, None)
        if batch is None:
            return self._batch_not_found(batch_id)
        return _Response(200, {"id": batch_id, "type": "message_batch_deleted"})
