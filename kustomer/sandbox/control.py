"""The unauthenticated /_sandbox/ control API: state, stats, faults, config, webhooks, scenarios, replay."""

import copy
from collections.abc import Callable
from typing import Any

from .errors import ApiError, bad_request, not_found
from .routing import Events, Response, body_object
from .traffic import FaultRule, Stats
from .webhooks import deliver_logged

SKIPPED = "skipped after repeated network failures"


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def is_origin(value: Any) -> bool:
    return isinstance(value, str) and (value == "" or value.startswith(("http://", "https://")))


def is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# What POST /_sandbox/config may change: each setting's check and what the 400 says it expects.
RUNTIME_SETTINGS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "latency_ms": (is_count, "a non-negative integer"),
    "rate_limit": (is_count, "a non-negative integer"),
    "search_rate_limit": (is_count, "a non-negative integer"),
    "search_page_cap": (is_count, "a non-negative integer"),
    "reset_epoch": (is_flag, "true or false"),
    "retry_after": (is_flag, "true or false"),
    "refused": (is_names, "a list of role names"),
    "strict_custom_attributes": (is_flag, "true or false"),
    "links_origin": (is_origin, 'an http(s) origin, or "" for relative links'),
}


class ControlRoutes:
    """Mixed into SandboxApp: uses its state, dispatcher and emit()."""

    def control_route_table(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/_sandbox/state", self.ctl_summary),
            ("GET", "/_sandbox/stats", self.ctl_stats),
            ("POST", "/_sandbox/stats/reset", self.ctl_stats_reset),
            ("GET", "/_sandbox/requests", self.ctl_requests),
            ("POST", "/_sandbox/requests/reset", self.ctl_requests_reset),
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
            ("POST", "/_sandbox/users/{id}", self.ctl_user_rename),
            ("POST", "/_sandbox/teams/{id}", self.ctl_team_rename),
            ("POST", "/_sandbox/customers/{id}/verified", self.ctl_customer_verified),
            ("POST", "/_sandbox/replay", self.ctl_replay),
            ("GET", "/_sandbox/state/conversations/{id}", self.ctl_conversation_state),
        ]

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
                    "samples": copy.deepcopy(state.samples),
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

    def ctl_requests(self, **_: Any) -> Response:
        return 200, self.state.request_log(), {}

    def ctl_requests_reset(self, **_: Any) -> Response:
        self.state.request_log_reset()
        return self.ctl_requests()

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
                    "search_rate_limit": state.search_rate_limit,
                    "search_page_cap": state.search_page_cap,
                    "reset_epoch": state.reset_epoch,
                    "retry_after": state.retry_after,
                    "org": state.org,
                    "machine_user_id": state.config.machine_user_id,
                    "api_key_required": bool(state.config.api_key),
                    "refused": list(state.refused),
                    "strict_custom_attributes": state.strict_custom_attributes,
                    "links_origin": state.links_origin,
                },
                {},
            )

    def ctl_config_set(self, body: Any, **_: Any) -> Response:
        """Change the settings in RUNTIME_SETTINGS while running (until the next reset)."""
        body = body_object(body)
        unknown = set(body) - set(RUNTIME_SETTINGS)
        if unknown:
            raise bad_request(f"Unknown settings: {', '.join(sorted(unknown))}.")
        for key, value in body.items():
            valid, expected = RUNTIME_SETTINGS[key]
            if not valid(value):
                raise bad_request(f"{key} must be {expected}.", f"/{key}")
        state = self.state
        with state.lock:
            for key, value in body.items():
                if key == "rate_limit":
                    state.budget.limit = value
                else:
                    setattr(state, key, value)
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
        body = body_object(body)
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
            timeout = float(body_object(body).get("timeout", self.dispatcher.timeout + 1))
        except (TypeError, ValueError) as exc:
            raise bad_request("timeout must be a number.", "/timeout") from exc
        drained = self.dispatcher.wait(timeout=timeout)
        return 200, {"drained": drained, "deliveries": self.dispatcher.log()}, {}

    def scenario_answer(self, result: dict[str, Any], events: Events, deliver: bool) -> Response:
        """Deliver a scenario's events in order, waiting for them so the caller sees each outcome."""
        event_ids = [event["id"] for event in events]
        queued = self.emit(events) if deliver else 0
        deliveries: list[dict[str, Any]] = []
        if queued:
            self.dispatcher.wait(timeout=queued * (self.dispatcher.timeout + 1))
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

    def scenario(self, body: Any, run: Callable[[dict[str, Any]], tuple[dict[str, Any], Events]]) -> Response:
        body = body_object(body)
        result, events = run(body)
        return self.scenario_answer(result, events, body.get("deliver", True) is not False)

    def ctl_new_conversation(self, body: Any, **_: Any) -> Response:
        return self.scenario(body, self.state.scenario_new_conversation)

    def ctl_customer_message(self, body: Any, **_: Any) -> Response:
        return self.scenario(body, self.state.scenario_customer_message)

    def ctl_resolve(self, body: Any, **_: Any) -> Response:
        return self.scenario(body, lambda body: self.state.scenario_set_status(body, "done"))

    def ctl_reopen(self, body: Any, **_: Any) -> Response:
        return self.scenario(body, lambda body: self.state.scenario_set_status(body, "open"))

    def ctl_user_rename(self, id: str, body: Any, **_: Any) -> Response:
        return self.scenario(body, lambda body: self.state.scenario_rename("user", id, body))

    def ctl_team_rename(self, id: str, body: Any, **_: Any) -> Response:
        return self.scenario(body, lambda body: self.state.scenario_rename("team", id, body))

    def ctl_customer_verified(self, id: str, body: Any, **_: Any) -> Response:
        """Mark a customer's emails (`email`) and phones (`phone`) verified or not: true or false each."""
        body = body_object(body)
        flags = {"emails": body.get("email"), "phones": body.get("phone")}
        for key, value in flags.items():
            if value is not None and not is_flag(value):
                raise bad_request(f"{key[:-1]} must be true or false.", f"/{key[:-1]}")
        with self.state.lock:
            customer = self.state.customers.get(id)
            if customer is None:
                raise not_found("Customer")
            for key, value in flags.items():
                for entry in customer["attributes"][key] if value is not None else []:
                    entry["verified"] = value
            return 200, copy.deepcopy(customer), {}

    def ctl_replay(self, body: Any, **_: Any) -> Response:
        """Send every seeded sample to `url`; a dead receiver is reported, and after a few straight
        network failures the rest are skipped rather than each waiting out its timeout."""
        body = body_object(body)
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
        with self.state.lock:
            # What each sample should become, so a demo can check the product against it.
            samples = [{"conversation": id_, **label} for id_, label in self.state.samples.items()]
        delivered = sum(1 for result in results if result["ok"])
        skipped = sum(1 for result in results if result["error"] == SKIPPED)
        return (
            200,
            {
                "delivered": delivered,
                "failed": len(results) - delivered,
                "skipped": skipped,
                "results": results,
                "samples": samples,
            },
            {},
        )

    def ctl_conversation_state(self, id: str, **_: Any) -> Response:
        return 200, self.state.conversation_raw(id), {}
