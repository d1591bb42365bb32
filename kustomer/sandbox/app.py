"""The sandbox as a WSGI app: Kustomer's /v1/ subset plus the unauthenticated /_sandbox/ control API."""

import json
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from .api import SEARCH_FAMILY, ApiRoutes
from .control import ControlRoutes
from .control_history import HistoryRoutes
from .errors import ApiError, not_found, too_many
from .roles import forbidden, refused_role
from .routing import Events, Handler, Raw, Response, compile_route, fault_body, read_json, seconds_header
from .state import SandboxState
from .traffic import FaultRule, MinuteBudget, seconds_to_window_end
from .webhooks import Dispatcher

UNAUTHORIZED = {
    "errors": [
        {"status": 401, "code": "unauthorized", "title": "Unauthorized", "detail": "Invalid or expired token"}
    ]
}


@dataclass
class Matched:
    """What a /v1/ request matched: `route` names the template, or the path when nothing matched."""

    route: str
    handler: Handler | None = None
    params: dict[str, str] = field(default_factory=dict)
    family: str | None = None
    allowed_here: bool = False


class SandboxApp(ApiRoutes, ControlRoutes, HistoryRoutes):
    """WSGI callable; deliveries caused by API writes go through the dispatcher, in order, off the request."""

    def __init__(self, state: SandboxState, dispatcher: Dispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.api_routes: list[tuple[str, str, re.Pattern[str], Handler, str | None]] = [
            (method, template, compile_route(template), handler, family)
            for method, template, handler, family in self.api_route_table()
        ]
        self.control_routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            (method, compile_route(template), handler)
            for method, template, handler in self.control_route_table() + self.history_route_table()
        ]

    # --- WSGI plumbing -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        # wsgiref decodes the path as latin-1; undo that to see UTF-8 ids and klass names as sent.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            if path.startswith("/_sandbox/") or path == "/_sandbox":
                status, payload, headers = self.control(method, path, read_json(environ))
            elif path.startswith("/v1/"):
                status, payload, headers = self.api(method, path, query, environ)
                payload = self._links_absolute(payload)
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
        content_type = payload.content_type if isinstance(payload, Raw) else "application/json"
        if isinstance(payload, Raw):
            body = payload.body
        else:
            body = b"" if status == 204 else json.dumps(payload, ensure_ascii=False).encode()
        header_list = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        header_list += list(headers.items())
        start_response(f"{status} {HTTPStatus(status).phrase}", header_list)
        return [body]

    def _links_absolute(self, payload: Any) -> Any:
        """Pagination links prefixed with the `links_origin` setting: a client meeting absolute links."""
        origin = self.state.links_origin
        if not origin or not isinstance(payload, dict) or not isinstance(payload.get("links"), dict):
            return payload
        links = {
            key: origin + value if isinstance(value, str) else value
            for key, value in payload["links"].items()
        }
        return {**payload, "links": links}

    def emit(self, events: Events) -> int:
        """Queue each event for every subscription that wants it; returns how many deliveries were queued."""
        queued = 0
        for event in events:
            for url, secret, extra_headers in self.state.webhook_targets(event["name"]):
                self.dispatcher.submit(url, secret, event, extra_headers)
                queued += 1
        return queued

    # --- /v1/ --------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Matched:
        matched = Matched(route=f"{method} {path}")
        for route_method, template, pattern, handler, family in self.api_routes:
            if found := pattern.match(path):
                matched.allowed_here = True
                if route_method == method:
                    return Matched(f"{method} {template}", handler, found.groupdict(), family, True)
        return matched

    def api(self, method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any]) -> Response:
        now = time.time()
        matched = self.match(method, path)
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
                status, payload, headers = self.answer(method, path, query, environ, matched, now)
        except ApiError as exc:
            status, payload, headers = exc.status, exc.body, {**self.limit_headers(now), **exc.headers}
        with self.state.lock:
            self.state.stats.record(now, matched.route, status, f"{method} {path}")
            self.state.requests.record(now, method, path, matched.route, status)
        return status, payload, headers

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        environ: dict[str, Any],
        matched: Matched,
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
        if matched.handler is None:
            if matched.allowed_here:
                error = {"status": 405, "code": "method_not_allowed", "title": "Method Not Allowed"}
                raise ApiError(405, {"errors": [{**error, "detail": f"{method} {path}"}]})
            raise not_found("Route")
        with self.state.lock:
            role = refused_role(self.state.refused, matched.family)
        if role:
            raise forbidden(role)
        if matched.family == SEARCH_FAMILY:
            self.spend_search(environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2].strip(), now)
        body = read_json(environ) if method in ("POST", "PUT", "PATCH") else None
        status, payload, events = matched.handler(
            **matched.params, query=query, body=body, path=path, now=now
        )
        self.emit(events)
        return status, payload, self.limit_headers(now)

    def authorised(self, header: str) -> bool:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        expected = self.state.config.api_key
        return not expected or key.strip() == expected

    def spend_search(self, api_key: str, now: float) -> None:
        """Over the key's search budget: 429 whose headers tell that budget, not the org's."""
        with self.state.lock:
            budget = self.state.search_budget(api_key)
            within_budget = budget.spend(now)
            retry_after = self.state.retry_after
        if not within_budget:
            headers = self.limit_headers(now, budget)
            if retry_after:
                headers["Retry-After"] = str(seconds_to_window_end(now))
            raise too_many("Search request limit exceeded for this API key.", headers)

    def limit_headers(self, now: float, budget: MinuteBudget | None = None) -> dict[str, str]:
        with self.state.lock:
            budget, epoch = budget or self.state.budget, self.state.reset_epoch
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
