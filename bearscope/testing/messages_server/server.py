"""The local Messages API server: its HTTP handler, routing and answers to `POST /v1/messages`."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from bearscope.testing.servers import BackgroundServer, QuietThreadingHTTPServer

from .batches import Batches
from .responses import Response, error_response, request_id
from .schema import schema_responder
from .steps import DEFAULT_TEXT, ErrorReply, Hang, Reply, Responder, ResponderReply, Step, error, reply_json
from .usage import MAX_CACHE_BREAKPOINTS, PromptCache, estimate_tokens, is_breakpoint, prompt_blocks


def _credentials(headers: Mapping[str, str]) -> set[str]:
    # SDK 2.x sends `api_key` as "Authorization: Bearer ..."; older clients and curl use x-api-key.
    found = {headers.get("x-api-key", "")}
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        found.add(token)
    return found - {""}


class _HTTPServer(QuietThreadingHTTPServer):
    owner: MessagesServer


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


class MessagesServer(BackgroundServer):
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
        self._cache = PromptCache()
        self._stopping = threading.Event()
        http = _HTTPServer((host, port), _Handler)
        http.owner = self
        super().__init__(http, name="messages-server", host=host)
        self._batches = Batches(self._batch_item, self.base_url)
        self.start()

    # Public API

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
        self._stopping.set()
        super().stop()

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
                    response = error_response(error(400, message="The request body is not valid JSON."))
                else:
                    response = self._route(method, path, record)
            else:
                response = self._route(method, path, record)
        except Exception as exc:  # a bug in the stand-in: answer like the API would, and keep it for tests
            with self._lock:
                self.errors.append(exc)
            response = error_response(error(500, message=f"messages server error: {exc!r}"))
        record["status"] = response.status
        self._send(handler, response)

    def _send(self, handler: _Handler, response: Response) -> None:
        if isinstance(response.payload, bytes):
            data = response.payload
        else:
            data = json.dumps(response.payload).encode()
        headers = {"request-id": request_id(), **response.headers}
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

    def _route(self, method: str, path: str, record: dict[str, Any]) -> Response:
        if self.api_key is not None and self.api_key not in _credentials(record["headers"]):
            return error_response(error(401))
        body = record["body"]
        if path == "/v1/messages" and method == "POST":
            return self._message_call(body)
        if path == "/v1/messages/count_tokens" and method == "POST":
            blocks = prompt_blocks(body if isinstance(body, Mapping) else {})
            return Response(200, {"input_tokens": estimate_tokens("".join(text for _, text, _ in blocks))})
        batches = self._batches.route(method, path, body, delay_seconds=self.batch_delay_seconds)
        if batches is not None:
            return batches
        return error_response(error(404, message=f"{method} {path} is not served here."))

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
        breakpoints = sum(is_breakpoint(marker) for _, _, marker in prompt_blocks(body))
        if breakpoints > MAX_CACHE_BREAKPOINTS:
            return error(
                400,
                message=f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {breakpoints}.",
            )
        return None

    def _answer(self, step: Step, body: dict[str, Any]) -> tuple[Step, float]:
        """The step to answer with once hangs and responder steps are unwrapped, and the hangs' seconds."""
        hung = 0.0
        # Hangs and responder steps may nest (a responder can return a hang); bound the unwrapping.
        for _ in range(10):
            if isinstance(step, Hang):
                hung += step.seconds
                step = step.then or ResponderReply()
            elif isinstance(step, ResponderReply):
                step = self._responder_step(body)
            else:
                break
        return step, hung

    def _next_step(self) -> Step:
        with self._lock:
            return self._steps.popleft() if self._steps else ResponderReply()

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

    def _message_call(self, body: Any) -> Response:
        problem = self._validate(body)
        if problem is not None:
            return error_response(problem)
        step, hung = self._answer(self._next_step(), body)
        delay = self._latency_seconds() + hung
        if delay > 0:
            self._stopping.wait(delay)
        if isinstance(step, ErrorReply):
            return error_response(step)
        if not isinstance(step, Reply):
            step = Reply(DEFAULT_TEXT)
        return Response(200, self._message(step, body, service_tier="standard"))

    def _batch_item(self, params: dict[str, Any]) -> dict[str, Any]:
        problem = self._validate(params)
        # A batch has no client waiting: hangs are skipped.
        step = problem or self._answer(self._next_step(), params)[0]
        if isinstance(step, ErrorReply):
            return {"type": "errored", "error": error_response(step).payload}
        if not isinstance(step, Reply):
            step = Reply(DEFAULT_TEXT)
        return {"type": "succeeded", "message": self._message(step, params, service_tier="batch")}

    def _message(self, reply: Reply, body: Mapping[str, Any], *, service_tier: str) -> dict[str, Any]:
        text, stop_reason = reply.text, reply.stop_reason
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and estimate_tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        usage = self._cache.usage(
            body, min_cacheable_tokens=self.min_cacheable_tokens, ttl_seconds=self.cache_ttl_seconds
        )
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": estimate_tokens(text), "service_tier": service_tier},
        }
        if reply.stop_details is not None and stop_reason == reply.stop_reason:
            message["stop_details"] = reply.stop_details
        return message
