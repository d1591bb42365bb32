"""Kustomer-shaped webhook events: build, sign, deliver, and an ordered background dispatcher."""

import copy
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import requests

USER_AGENT = "Kustomer-Sandbox/1.0"


def sign(body: bytes, secret: str) -> str:
    """The lowercase hex HMAC-SHA256 of `body` keyed with `secret`, as in X-Kustomer-Webhook-Signature."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_id() -> str:
    """A 24-hex-character id, like Kustomer's object ids."""
    return secrets.token_hex(12)


def iso_now() -> str:
    """Now in Kustomer's timestamp format (UTC, milliseconds, Z)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_event(
    name: str,
    resource: dict[str, Any],
    *,
    org: str,
    changes: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A webhook envelope for `resource`; `changes` is None for create events, as Kustomer sends it."""
    custom_changed = bool(changes and "custom" in changes.get("attributes", {}))
    return {
        "id": event_id or new_id(),
        "name": name,
        "org": org,
        "orgName": org,
        "partition": org,
        "createdAt": iso_now(),
        "client": "sandbox",
        "dataId": resource["id"],
        "persist": True,
        "snsFilters": {"name": name, "type": resource["type"], "partition": org},
        "meta": {"customChanged": custom_changed},
        "data": copy.deepcopy(resource),
        "changes": copy.deepcopy(changes),
    }


def deliver(
    url: str,
    secret: str,
    event: dict[str, Any],
    *,
    timeout: float = 10,
    extra_headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST `event` to `url`, signing exactly the bytes sent; network errors propagate."""
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        **(extra_headers or {}),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Kustomer-Webhook-Event": event["name"],
        "X-Kustomer-Webhook-Signature": sign(body, secret),
    }
    return requests.post(url, data=body, headers=headers, timeout=timeout)


def deliver_logged(
    url: str,
    secret: str,
    event: dict[str, Any],
    *,
    timeout: float = 10,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Deliver and describe the outcome instead of raising: a failing receiver is data, not a crash."""
    outcome: dict[str, Any] = {"event_id": event["id"], "name": event["name"], "url": url}
    try:
        response = deliver(url, secret, event, timeout=timeout, extra_headers=extra_headers)
    except requests.RequestException as exc:
        return {**outcome, "status_code": None, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {**outcome, "status_code": response.status_code, "ok": response.ok, "error": None}


class Dispatcher:
    """Delivers events asynchronously, one at a time and in submission order, on a daemon thread."""

    def __init__(self, *, timeout: float = 10) -> None:
        self.timeout = timeout
        self._queue: deque[tuple[str, str, dict[str, Any], dict[str, str] | None]] = deque()
        self._log: list[dict[str, Any]] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="kustomer-sandbox-webhooks", daemon=True)
        self._thread.start()

    def submit(
        self, url: str, secret: str, event: dict[str, Any], extra_headers: dict[str, str] | None = None
    ) -> None:
        with self._cond:
            self._queue.append((url, secret, event, extra_headers))
            self._busy += 1
            self._cond.notify_all()

    def wait(self, timeout: float = 10) -> bool:
        """Block until every submitted event has been attempted; False if `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout=timeout)

    def log(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._log)

    def clear(self) -> None:
        """Forget the log and drop deliveries not yet started (one in flight still finishes)."""
        with self._cond:
            self._busy = 0
            self._queue.clear()
            self._log.clear()
            self._generation += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        # The thread is a daemon: a delivery stuck on a slow receiver must not hold up shutdown.
        self._thread.join(timeout=1)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                url, secret, event, extra_headers = self._queue.popleft()
                generation = self._generation
            outcome = deliver_logged(url, secret, event, timeout=self.timeout, extra_headers=extra_headers)
            with self._cond:
                # A delivery that outlived clear() belongs to the previous run: its count is already dropped.
                if generation == self._generation:
                    self._log.append(outcome)
                    self._busy -= 1
                self._cond.notify_all()
