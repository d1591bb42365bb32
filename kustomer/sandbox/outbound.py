"""Outbound webhook subscriptions registered through the API (/v1/outbound-webhooks), a SandboxState mixin."""

import copy
import secrets
from typing import Any
from urllib.parse import urlsplit

from . import resources
from .errors import bad_request, not_found
from .webhooks import iso_now, new_id

EVENTS = [
    f"kustomer.{kind}.{action}"
    for kind in ("conversation", "customer", "message", "user", "team", "tag")
    for action in ("create", "update")
]
MAX_EVENTS = 12
NAME_LIMIT = 255
# Kustomer takes https only; plain http to this machine is a sandbox convenience for local receivers.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def subscription_fields(body: Any) -> dict[str, Any]:
    """The checked name, url, events and headers of a new subscription; 400 says what is wrong."""
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LIMIT:
        raise bad_request(f"name is required, at most {NAME_LIMIT} characters.", "/name")
    url = body.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        not parts
        or not parts.hostname
        or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS))
    ):
        raise bad_request("url must be an https:// address.", "/url")
    events = body.get("events")
    if (
        not isinstance(events, list)
        or not 1 <= len(events) <= MAX_EVENTS
        or len(set(map(str, events))) != len(events)
        or not set(map(str, events)) <= set(EVENTS)
    ):
        raise bad_request(
            f"events must list 1 to {MAX_EVENTS} different events from GET /v1/outbound-webhooks/events.",
            "/events",
        )
    headers = body.get("headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and set(h) == {"name", "value"} and all(isinstance(v, str) for v in h.values())
        for h in headers
    ):
        raise bad_request("headers must be a list of {name, value} strings.", "/headers")
    return {"name": name, "url": url, "events": events, "headers": headers}


class OutboundMixin:
    """Uses SandboxState's lock and data; every public method takes the lock itself."""

    def outbound_webhooks_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.outbound_webhooks.values()))

    def outbound_webhook_create(self, body: Any) -> dict[str, Any]:
        fields = subscription_fields(body)
        now_iso = iso_now()
        id_ = new_id()
        hook = {
            "type": "outbound_webhook",
            "id": id_,
            "attributes": {
                **fields,
                "enabled": True,
                "token": secrets.token_hex(16),
                "createdAt": now_iso,
                "updatedAt": now_iso,
            },
            "relationships": {
                "org": resources.rel("org", self.org),
                "createdBy": resources.rel("user", self.config.machine_user_id),
            },
            "links": {"self": f"/v1/outbound-webhooks/{id_}"},
        }
        with self.lock:
            self.outbound_webhooks[id_] = hook
            return copy.deepcopy(hook)

    def outbound_webhook_delete(self, webhook_id: str) -> None:
        with self.lock:
            if self.outbound_webhooks.pop(webhook_id, None) is None:
                raise not_found("Outbound webhook")

    def webhook_targets(self, event_name: str) -> list[tuple[str, str, dict[str, str]]]:
        """Where an event goes: the control API's subscription (every event), then each registered one."""
        with self.lock:
            targets = (
                [(self.subscription["url"], self.subscription["secret"], {})] if self.subscription else []
            )
            for hook in self.outbound_webhooks.values():
                attrs = hook["attributes"]
                if attrs["enabled"] and event_name in attrs["events"]:
                    extra = {h["name"]: h["value"] for h in attrs["headers"]}
                    targets.append((attrs["url"], attrs["token"], extra))
            return targets
