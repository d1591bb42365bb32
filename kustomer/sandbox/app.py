"""The sandbox as a WSGI app: Kustomer's /v1/ subset plus the unauthenticated /_sandbox/ control API."""

import json
import math
import re
import time
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from .state import ApiError, Events, SandboxState, bad_request, not_found, too_many
from .traffic import FaultRule, Stats, seconds_to_window_end
from .webhooks import Dispatcher, deliver_logged

SKIPPED = "skipped after repeated network failures"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

Handler = Callable[..., tuple[int, Any, Events]]
Response = tuple[int, Any, dict[str, str]]

UNAUTHORIZED = {
    "errors": [
        {"status": 401, "code": "unauthorized", "title": "Unauthorized", "detail": "Invalid or expired token"}
    ]
}


def compile_route(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [str(default)])[0]
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer.", code="invalid_parameter") from exc


def paginate(items: list[dict[str, Any]], path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """One page of `items` with Kustomer's links (relative paths) and meta."""
    page = query_int(query, "page", 1)
    size = query_int(query, "pageSize", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise bad_request("page must be 1 or more.", code="invalid_parameter")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.", code="invalid_parameter")
    total_pages = max(1, math.ceil(len(items) / size))

    def link(number: int) -> str:
        return f"{path}?page={number}&pageSize={size}"

    return {
        "data": items[(page - 1) * size : page * size],
        "links": {
            "self": link(page),
            "first": link(1),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < total_pages else None,
        },
        "meta": {"pageSize": size, "page": page, "totalPages": total_pages},
    }


def seconds_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def fault_body(rule: FaultRule) -> dict[str, Any]:
    phrase = HTTPStatus(rule.status).phrase
    code = "rate_limited" if rule.status == 429 else "server_error"
    detail = "Rate limit exceeded" if rule.status == 429 else f"{phrase} (injected by the sandbox)"
    if rule.body_shape == "legacy":
        return {"errors": [{"code": code, "message": detail, "meta": {}}]}
    return {"errors": [{"status": rule.status, "code": code, "title": phrase, "detail": detail}]}


class SandboxApp:
    """WSGI callable; deliveries caused by API writes go through the dispatcher, in order, off the request."""

    def __init__(self, state: SandboxState, dispatcher: Dispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.api_routes: list[tuple[str, str, re.Pattern[str], Handler]] = [
            (method, template, compile_route(template), handler)
            for method, template, handler in (
                ("GET", "/v1/users/current", self.user_current),
                ("GET", "/v1/conversations/{id}", self.conversation_get),
                ("PATCH", "/v1/conversations/{id}", self.conversation_patch),
                ("GET", "/v1/conversations/{id}/messages", self.messages_list),
                ("POST", "/v1/conversations/{id}/messages", self.message_create),
                ("GET", "/v1/conversations/{id}/notes", self.notes_list),
                ("POST", "/v1/conversations/{id}/notes", self.note_create),
                ("GET", "/v1/conversations/{id}/drafts", self.drafts_list),
                ("GET", "/v1/messages/{id}", self.message_get),
                ("GET", "/v1/customers/{id}", self.customer_get),
                ("GET", "/v1/customers/{id}/klasses/{klass}", self.customer_kobjects),
                ("POST", "/v1/customers/{id}/drafts", self.draft_create),
                ("GET", "/v1/klasses/{klass}/externalId={externalId}", self.kobject_by_external_id),
                ("PUT", "/v1/drafts/{id}", self.draft_update),
            )
        ]
        self.control_routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            (method, compile_route(template), handler)
            for method, template, handler in (
                ("GET", "/_sandbox/state", self.ctl_summary),
                ("GET", "/_sandbox/stats", self.ctl_stats),
                ("POST", "/_sandbox/stats/reset", self.ctl_stats_reset),
                ("GET", "/_sandbox/faults", self.ctl_faults),
                ("POST", "/_sandbox/faults", self.ctl_faults_add),
                ("DELETE", "/_sandbox/faults", self.ctl_faults_clear),
                ("GET", "/_sandbox/config", self.ctl_config),
                ("POST", "/_sandbox/config", self.ctl_config_set),
                ("POST", "/_sandbox/reset", self.ctl_reset),
                ("GET", "/_sandbox/webhooks", self.ctl_webhooks),
                ("POST", "/_sandbox/webhooks", self.ctl_webhooks_set),
                ("DELETE", "/_sandbox/webhooks", self.ctl_webhooks_clear),
                ("GET", "/_sandbox/webhooks/deliveries", self.ctl_deliveries),
                ("POST", "/_sandbox/webhooks/flush", self.ctl_flush),
                ("POST", "/_sandbox/scenarios/new-conversation", self.ctl_new_conversation),
                ("POST", "/_sandbox/scenarios/customer-message", self.ctl_customer_message),
                ("POST", "/_sandbox/scenarios/resolve", self.ctl_resolve),
                ("POST", "/_sandbox/scenarios/reopen", self.ctl_reopen),
                ("POST", "/_sandbox/replay", self.ctl_replay),
                ("GET", "/_sandbox/state/conversations/{id}", self.ctl_conversation_state),
            )
        ]

    # --- WSGI plumbing -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        # wsgiref decodes the path as latin-1; undo that to see UTF-8 ids and klass names as sent.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            if path.startswith("/_sandbox/") or path == "/_sandbox":
                status, payload, headers = self.control(method, path, self.read_json(environ))
            elif path.startswith("/v1/"):
                status, payload, headers = self.api(method, path, query, environ)
            else:
                status, payload, headers = 404, not_found("Route").body, {}
        except ApiError as exc:
            status, payload, headers = exc.status, exc.body, exc.headers
        except Exception:
            # A sandbox bug must still answer in JSON, like Kustomer's own 500s, and be visible.
            traceback.print_exc()
            status, payload, headers = (
                500,
                {"errors": [{"status": 500, "code": "internal_error", "title": "Internal Server Error"}]},
                {},
            )
        body = json.dumps(payload, ensure_ascii=False).encode()
        header_list = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        header_list += list(headers.items())
        start_response(f"{status} {HTTPStatus(status).phrase}", header_list)
        return [body]

    @staticmethod
    def read_json(environ: dict[str, Any]) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_request(f"Body is not valid JSON: {exc}", code="invalid_json") from exc

    def emit(self, events: Events) -> list[str]:
        """Queue `events` for the subscription, if any; returns their ids either way."""
        with self.state.lock:
            subscription = self.state.subscription
        if subscription:
            for event in events:
                self.dispatcher.submit(subscription["url"], subscription["secret"], event)
        return [event["id"] for event in events]

    # --- /v1/ --------------------------------------------------------------------------------------

    def api(self, method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any]) -> Response:
        now = time.time()
        route, handler, params = f"{method} {path}", None, {}
        allowed_here = False
        for route_method, template, pattern, route_handler in self.api_routes:
            if match := pattern.match(path):
                allowed_here = True
                if route_method == method:
                    route, handler, params = f"{method} {template}", route_handler, match.groupdict()
                    break
        with self.state.lock:
            latency_ms = self.state.latency_ms
            fault = self.state.faults.take(method, path)
        delay = latency_ms + (fault.latency_ms if fault else 0)
        if delay:
            time.sleep(delay / 1000)
        try:
            if fault and fault.status != 200:
                status, payload, headers = fault.status, fault_body(fault), self.fault_headers(fault, now)
            else:
                status, payload, headers = self.answer(
                    method, path, query, environ, handler, params, allowed_here, now
                )
        except ApiError as exc:
            status, payload, headers = exc.status, exc.body, {**self.limit_headers(now), **exc.headers}
        with self.state.lock:
            self.state.stats.record(now, route, status, f"{method} {path}")
        return status, payload, headers

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        environ: dict[str, Any],
        handler: Handler | None,
        params: dict[str, str],
        allowed_here: bool,
        now: float,
    ) -> Response:
        if not self.authorised(environ.get("HTTP_AUTHORIZATION", "")):
            raise ApiError(401, UNAUTHORIZED)
        with self.state.lock:
            within_budget = self.state.budget.spend(now)
            retry_after = self.state.retry_after
        if not within_budget:
            extra = {"Retry-After": str(seconds_to_window_end(now))} if retry_after else {}
            raise too_many("Organization request limit exceeded.", extra)
        if handler is None:
            if allowed_here:
                error = {"status": 405, "code": "method_not_allowed", "title": "Method Not Allowed"}
                raise ApiError(405, {"errors": [{**error, "detail": f"{method} {path}"}]})
            raise not_found("Route")
        body = self.read_json(environ) if method in ("POST", "PUT", "PATCH") else None
        status, payload, events = handler(**params, query=query, body=body, path=path, now=now)
        self.emit(events)
        return status, payload, self.limit_headers(now)

    def authorised(self, header: str) -> bool:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        expected = self.state.config.api_key
        return not expected or key.strip() == expected

    def limit_headers(self, now: float) -> dict[str, str]:
        with self.state.lock:
            budget, epoch = self.state.budget, self.state.reset_epoch
            limit, remaining = budget.limit, budget.remaining(now)
        reset = seconds_to_window_end(now)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(now) + reset if epoch else reset),
        }

    def fault_headers(self, rule: FaultRule, now: float) -> dict[str, str]:
        headers = self.limit_headers(now)
        reset = rule.reset
        if rule.status == 429:
            headers["x-ratelimit-remaining"] = "0"
            # An injected 429 that says "retry after N" should not also claim the window ends later.
            if reset is None:
                reset = rule.retry_after
        if reset is not None:
            with self.state.lock:
                epoch = self.state.reset_epoch
            headers["x-ratelimit-reset"] = seconds_header(now + reset if epoch else reset)
        if rule.retry_after is not None:
            headers["Retry-After"] = seconds_header(rule.retry_after)
        return headers

    def user_current(self, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.user_current()}, []

    def conversation_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.conversation_get(id)}, []

    def conversation_patch(self, id: str, body: Any, **_: Any) -> tuple[int, Any, Events]:
        conversation, events = self.state.conversation_patch(id, body)
        return 200, {"data": conversation}, events

    def messages_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.messages_list(id), path, query), []

    def message_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        message, events = self.state.message_create(id, body, now)
        return 201, {"data": message}, events

    def message_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.message_get(id)}, []

    def notes_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.notes_list(id), path, query), []

    def note_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        return 201, {"data": self.state.note_create(id, body, now)}, []

    def drafts_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.drafts_list(id), path, query), []

    def customer_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.customer_get(id)}, []

    def customer_kobjects(
        self,
        id: str,
        klass: str,
        query: dict[str, list[str]],
        path: str,
        **_: Any,
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.customer_kobjects(id, klass), path, query), []

    def kobject_by_external_id(self, klass: str, externalId: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.kobject_by_external_id(klass, externalId)}, []

    def draft_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        draft, events = self.state.draft_create(id, body, now)
        return 201, {"data": draft}, events

    def draft_update(self, id: str, body: Any, **_: Any) -> tuple[int, Any, Events]:
        draft, events = self.state.draft_update(id, body)
        return 200, {"data": draft}, events

    # --- /_sandbox/ --------------------------------------------------------------------------------

    def control(self, method: str, path: str, body: Any) -> Response:
        known = False
        for route_method, pattern, handler in self.control_routes:
            if match := pattern.match(path):
                known = True
                if route_method == method:
                    return handler(body=body, **match.groupdict())
        if known:
            raise ApiError(
                405, {"errors": [{"code": "method_not_allowed", "message": f"{method} {path}", "meta": {}}]}
            )
        raise not_found("Control route")

    @staticmethod
    def body_object(body: Any) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object.")
        return body

    def ctl_summary(self, **_: Any) -> Response:
        state = self.state
        with state.lock:
            return (
                200,
                {
                    "org": state.org,
                    "machine_user_id": state.config.machine_user_id,
                    "agent_user_id": state.agent_user,
                    "order_klass": state.order_klass,
                    "customers": {c["id"]: c["attributes"]["name"] for c in state.customers.values()},
                    "orders": {
                        k["attributes"]["externalId"]: k["relationships"]["customer"]["data"]["id"]
                        for k in state.kobjects.get(state.order_klass, {}).values()
                    },
                    "conversations": {c["id"]: c["attributes"]["name"] for c in state.conversations.values()},
                },
                {},
            )

    def ctl_stats(self, **_: Any) -> Response:
        with self.state.lock:
            return 200, self.state.stats.as_dict(), {}

    def ctl_stats_reset(self, **_: Any) -> Response:
        with self.state.lock:
            self.state.stats = Stats()
            return 200, self.state.stats.as_dict(), {}

    def ctl_faults(self, **_: Any) -> Response:
        with self.state.lock:
            return 200, {"faults": [rule.as_dict() for rule in self.state.faults.rules]}, {}

    def ctl_faults_add(self, body: Any, **_: Any) -> Response:
        raw_rules = body if isinstance(body, list) else [body]
        try:
            rules = [FaultRule.from_dict(raw) for raw in raw_rules]
        except ValueError as exc:
            raise bad_request(str(exc), code="invalid_fault") from exc
        with self.state.lock:
            self.state.faults.rules.extend(rules)
        return self.ctl_faults()

    def ctl_faults_clear(self, **_: Any) -> Response:
        with self.state.lock:
            self.state.faults.rules.clear()
        return self.ctl_faults()

    def ctl_config(self, **_: Any) -> Response:
        state = self.state
        with state.lock:
            return (
                200,
                {
                    "latency_ms": state.latency_ms,
                    "rate_limit": state.budget.limit,
                    "reset_epoch": state.reset_epoch,
                    "retry_after": state.retry_after,
                    "org": state.org,
                    "machine_user_id": state.config.machine_user_id,
                    "api_key_required": bool(state.config.api_key),
                },
                {},
            )

    def ctl_config_set(self, body: Any, **_: Any) -> Response:
        """Change latency, budget and header style at run time (until the next reset)."""
        body = self.body_object(body)
        unknown = set(body) - {"latency_ms", "rate_limit", "reset_epoch", "retry_after"}
        if unknown:
            raise bad_request(f"Unknown settings: {', '.join(sorted(unknown))}.")
        for key in ("latency_ms", "rate_limit"):
            if key in body and (
                not isinstance(body[key], int) or isinstance(body[key], bool) or body[key] < 0
            ):
                raise bad_request(f"{key} must be a non-negative integer.", f"/{key}")
        state = self.state
        with state.lock:
            state.latency_ms = body.get("latency_ms", state.latency_ms)
            state.budget.limit = body.get("rate_limit", state.budget.limit)
            state.reset_epoch = bool(body.get("reset_epoch", state.reset_epoch))
            state.retry_after = bool(body.get("retry_after", state.retry_after))
        return self.ctl_config()

    def ctl_reset(self, **_: Any) -> Response:
        self.state.reset()
        self.dispatcher.clear()
        return 200, {"reset": True}, {}

    def ctl_webhooks(self, **_: Any) -> Response:
        with self.state.lock:
            subscription = self.state.subscription
        shown = {**subscription, "secret": "***"} if subscription else None
        return 200, {"subscription": shown}, {}

    def ctl_webhooks_set(self, body: Any, **_: Any) -> Response:
        body = self.body_object(body)
        for key in ("url", "secret"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise bad_request(f"{key} is required.", f"/{key}")
        with self.state.lock:
            self.state.subscription = {
                "url": body["url"],
                "secret": body["secret"],
                "org": body.get("org") or "",
            }
        return self.ctl_webhooks()

    def ctl_webhooks_clear(self, **_: Any) -> Response:
        with self.state.lock:
            self.state.subscription = None
        return self.ctl_webhooks()

    def ctl_deliveries(self, **_: Any) -> Response:
        return 200, {"deliveries": self.dispatcher.log()}, {}

    def ctl_flush(self, body: Any, **_: Any) -> Response:
        """Wait until queued deliveries have been attempted, then show the log."""
        try:
            timeout = float(self.body_object(body).get("timeout", self.dispatcher.timeout + 1))
        except (TypeError, ValueError) as exc:
            raise bad_request("timeout must be a number.", "/timeout") from exc
        drained = self.dispatcher.wait(timeout=timeout)
        return 200, {"drained": drained, "deliveries": self.dispatcher.log()}, {}

    def scenario_answer(self, result: dict[str, Any], events: Events, deliver: bool) -> Response:
        """Deliver a scenario's events in order, waiting for them so the caller sees each outcome."""
        event_ids = self.emit(events) if deliver else [event["id"] for event in events]
        deliveries: list[dict[str, Any]] = []
        with self.state.lock:
            subscribed = self.state.subscription is not None
        if deliver and subscribed:
            self.dispatcher.wait(timeout=len(events) * (self.dispatcher.timeout + 1))
            deliveries = [entry for entry in self.dispatcher.log() if entry["event_id"] in event_ids]
        return (
            200,
            {
                **result,
                "event_ids": event_ids,
                "events": [e["name"] for e in events],
                "deliveries": deliveries,
                # Undelivered, the events themselves: a load driver sends them when and how it wants.
                **({} if deliver else {"payloads": events}),
            },
            {},
        )

    def ctl_new_conversation(self, body: Any, **_: Any) -> Response:
        body = self.body_object(body)
        result, events = self.state.scenario_new_conversation(body)
        return self.scenario_answer(result, events, body.get("deliver", True) is not False)

    def ctl_customer_message(self, body: Any, **_: Any) -> Response:
        body = self.body_object(body)
        result, events = self.state.scenario_customer_message(body)
        return self.scenario_answer(result, events, body.get("deliver", True) is not False)

    def ctl_resolve(self, body: Any, **_: Any) -> Response:
        body = self.body_object(body)
        result, events = self.state.scenario_set_status(body, "done")
        return self.scenario_answer(result, events, body.get("deliver", True) is not False)

    def ctl_reopen(self, body: Any, **_: Any) -> Response:
        body = self.body_object(body)
        result, events = self.state.scenario_set_status(body, "open")
        return self.scenario_answer(result, events, body.get("deliver", True) is not False)

    def ctl_replay(self, body: Any, **_: Any) -> Response:
        """Send every seeded sample to `url`; a dead receiver is reported, and after a few straight
        network failures the rest are skipped rather than each waiting out its timeout."""
        body = self.body_object(body)
        for key in ("url", "secret"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise bad_request(f"{key} is required.", f"/{key}")
        try:
            timeout = float(body.get("timeout", self.state.config.webhook_timeout))
            give_up_after = int(body.get("max_consecutive_failures", 3))
        except (TypeError, ValueError) as exc:
            raise bad_request("timeout and max_consecutive_failures must be numbers.") from exc
        results: list[dict[str, Any]] = []
        consecutive = 0
        for event in self.state.replay_events(body.get("org")):
            if consecutive >= give_up_after:
                results.append(
                    {
                        "event_id": event["id"],
                        "name": event["name"],
                        "status_code": None,
                        "ok": False,
                        "error": SKIPPED,
                    }
                )
                continue
            outcome = deliver_logged(body["url"], body["secret"], event, timeout=timeout)
            consecutive = consecutive + 1 if outcome["status_code"] is None else 0
            results.append({key: outcome[key] for key in ("event_id", "name", "status_code", "ok", "error")})
        delivered = sum(1 for result in results if result["ok"])
        skipped = sum(1 for result in results if result["error"] == SKIPPED)
        return (
            200,
            {
                "delivered": delivered,
                "failed": len(results) - delivered,
                "skipped": skipped,
                "results": results,
            },
            {},
        )

    def ctl_conversation_state(self, id: str, **_: Any) -> Response:
        return 200, self.state.conversation_raw(id), {}
