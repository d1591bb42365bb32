"""The only module that speaks HTTP to Kustomer: retries, org-wide budget, JSON:API, typed errors.

Assumptions about Kustomer's API that its docs do not confirm each live in one function here
(search for "Assumption"), and docs/kustomer.md lists them.
"""

import logging
import os
import random
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from .client_search import SearchMixin
from .exceptions import (
    KustomerAuthError,
    KustomerBadRequest,
    KustomerConnectionError,
    KustomerError,
    KustomerErrorDetail,
    KustomerNotFound,
    KustomerRateLimited,
    KustomerServerError,
    KustomerTokenExpired,
    KustomerUnknownOutcome,
)
from .ratelimit import RateBudget, ShareBudget, budget_get, budget_share_get

__all__ = ["KustomerClient", "KustomerError", "client_get"]

logger = logging.getLogger(__name__)

USER_AGENT = "BearScope/0.1 (+https://github.com/bearscope)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _id(value: str) -> str:
    """An id or name as one path segment: `/`, `?`, `#`, `..` and the like cannot change the route."""
    return quote(str(value), safe="")


# --- Assumptions (one function each) ----------------------------------------------------------


def ratelimit_reset_seconds(value: str | None, now: float | None = None) -> float | None:
    """Assumption: x-ratelimit-reset is epoch seconds when above 10^9, else seconds to wait."""
    try:
        reset = float(value) if value is not None else None
    except ValueError:
        return None
    if reset is None:
        return None
    if reset > 1e9:
        reset -= now if now is not None else time.time()
    return max(reset, 0.0)


def custom_update_body(custom: dict[str, Any], priority: int | None = None) -> dict:
    """Assumption: PATCH merges the `custom` keys sent, so we send only ours (never PUT)."""
    return {"custom": custom} if priority is None else {"custom": custom, "priority": priority}


def draft_send_body(now_iso: str) -> dict:
    """Assumption: PUT /v1/drafts/{id} with sendAt now (and no `scheduled`) sends it at once."""
    return {"sendAt": now_iso}


def email_draft_fields(subject: str) -> dict:
    """Assumption: an email draft without `to`/`from` goes to the customer from the channel's address."""
    return {"subject": subject} if subject else {}


def _error_details(response: requests.Response) -> tuple[KustomerErrorDetail, ...]:
    """Both error shapes: {code, message, meta} and JSON:API {status, code, title, detail, source}."""
    try:
        payload = response.json()
    except ValueError:
        return ()
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return ()
    details = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        source = error.get("source") if isinstance(error.get("source"), dict) else {}
        details.append(
            KustomerErrorDetail(
                code=str(error.get("code") or error.get("status") or ""),
                message=str(error.get("message") or error.get("detail") or error.get("title") or ""),
                pointer=str(source.get("pointer") or ""),
                meta=error.get("meta") if isinstance(error.get("meta"), dict) else {},
            )
        )
    return tuple(details)


def _retry_after_seconds(response: requests.Response) -> float | None:
    """The wait the response asks for; x-ratelimit-reset counts only on a 429 (it is sent on every answer)."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max((parsedate_to_datetime(value).timestamp() - time.time()), 0.0)
            except (TypeError, ValueError):
                pass
    if response.status_code != 429:
        return None
    return ratelimit_reset_seconds(response.headers.get("x-ratelimit-reset"))


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Kustomer (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ == "NewConnectionError"


class KustomerClient(SearchMixin):
    """A Kustomer API client bound to one base URL and key. Reads and PATCH retry; creates reconcile."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        budget: RateBudget | ShareBudget,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        max_wait: float = 30.0,
        timeout: tuple[float, float] = (3.05, 15.0),
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.budget = budget
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
        )

    # --- transport --------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict | None = None, creates: bool = False
    ) -> dict:
        """One API call with budget, retries and error mapping; returns the decoded JSON body.

        `creates`: the call makes something (note, draft, message, send). It is retried only
        when Kustomer cannot have acted on it (429, or no connection made); any other failure
        raises KustomerUnknownOutcome so the caller looks before trying again.
        """
        url = urljoin(self.base_url, path.lstrip("/"))
        if urlsplit(url)[:2] != urlsplit(self.base_url)[:2]:
            # The API key goes with every request: never to a host other than the configured one.
            raise KustomerError("Refused a URL off the Kustomer API host", method=method, path=path)
        attempt = 0
        while True:
            self.budget.acquire()
            try:
                response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                if creates and not _never_sent(exc):
                    raise KustomerUnknownOutcome(
                        f"No answer to a create: {exc}", method=method, path=path
                    ) from exc
                if attempt >= self.max_retries:
                    raise KustomerConnectionError(
                        f"Kustomer unreachable: {exc}", method=method, path=path
                    ) from exc
                self._sleep(self._backoff(attempt), method, path, exc)
                attempt += 1
                continue
            if response.status_code < 400:
                return self._decode(response, method, path)
            retryable = response.status_code in RETRY_STATUSES and not (
                creates and response.status_code != 429
            )
            if not retryable or attempt >= self.max_retries:
                raise self._error(response, method, path, creates)
            wait = self._backoff(attempt)
            hinted = _retry_after_seconds(response)
            if hinted is not None:
                wait = max(wait, hinted + random.uniform(0, 0.25))  # jitter spreads the workers out
            if wait > self.max_wait:
                raise self._error(response, method, path, creates)
            self._sleep(wait, method, path, response.status_code)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff_base * 2**attempt) * random.uniform(0.5, 1.0)

    def _sleep(self, seconds: float, method: str, path: str, why: Any) -> None:
        logger.info("Kustomer %s %s: %s; retrying in %.2f s", method, path, why, seconds)
        time.sleep(seconds)

    def _decode(self, response: requests.Response, method: str, path: str) -> dict:
        if not response.content:
            return {}
        try:
            payload = response.json()
        except ValueError as exc:
            raise KustomerError(
                "Kustomer answered with non-JSON", status=response.status_code, method=method, path=path
            ) from exc
        return payload if isinstance(payload, dict) else {"data": payload}

    def _error(self, response: requests.Response, method: str, path: str, creates: bool) -> KustomerError:
        status = response.status_code
        errors = _error_details(response)
        text = "; ".join(filter(None, (e.message for e in errors))) or response.reason or "error"
        kwargs = {"status": status, "method": method, "path": path, "errors": errors}
        if status in (400, 409, 422):
            return KustomerBadRequest(text, **kwargs)
        if status in (401, 403):
            expired = status == 401 and "expired" in text.lower()
            return (KustomerTokenExpired if expired else KustomerAuthError)(text, **kwargs)
        if status == 404:
            return KustomerNotFound(text, **kwargs)
        if status == 429:
            return KustomerRateLimited(text, **kwargs)
        if creates and status >= 500:
            return KustomerUnknownOutcome(f"Server error on a create: {text}", **kwargs)
        if status >= 500:
            return KustomerServerError(text, **kwargs)
        return KustomerError(text, **kwargs)

    def get_data(self, path: str, params: dict | None = None) -> dict:
        data = self.request("GET", path, params=params).get("data")
        return data if isinstance(data, dict) else {}

    def paginate(self, path: str, *, page_size: int = 100) -> Iterator[dict]:
        """Every item of a list, following `links.next` until it is null.

        Kustomer's links are relative paths; an absolute one is followed only on the configured API
        host (scheme and host:port), else a KustomerError: the key never goes elsewhere.
        """
        payload = self.request("GET", path, params={"page": 1, "pageSize": page_size})
        while True:
            items = payload.get("data")
            yield from (item for item in (items if isinstance(items, list) else []) if isinstance(item, dict))
            links = payload.get("links") if isinstance(payload.get("links"), dict) else {}
            next_path = links.get("next")
            if not next_path or not isinstance(next_path, str):
                return
            payload = self.request("GET", next_path)

    # --- API functions ----------------------------------------------------------------------

    def current_user_get(self) -> dict:
        return self.get_data("/v1/users/current")

    def conversation_get(self, conversation_id: str) -> dict:
        return self.get_data(f"/v1/conversations/{_id(conversation_id)}")

    def conversation_custom_update(
        self, conversation_id: str, custom: dict[str, Any], *, priority: int | None = None
    ) -> dict:
        """Write custom attributes (and optionally Kustomer's 1-5 priority); idempotent, so retried."""
        body = custom_update_body(custom, priority)
        data = self.request("PATCH", f"/v1/conversations/{_id(conversation_id)}", json=body)
        return data.get("data") if isinstance(data.get("data"), dict) else {}

    def conversation_messages(self, conversation_id: str) -> Iterator[dict]:
        return self.paginate(f"/v1/conversations/{_id(conversation_id)}/messages")

    def conversation_notes(self, conversation_id: str) -> Iterator[dict]:
        return self.paginate(f"/v1/conversations/{_id(conversation_id)}/notes")

    def conversation_drafts(self, conversation_id: str) -> Iterator[dict]:
        return self.paginate(f"/v1/conversations/{_id(conversation_id)}/drafts")

    def customer_get(self, customer_id: str) -> dict:
        return self.get_data(f"/v1/customers/{_id(customer_id)}")

    def customer_kobjects(self, customer_id: str, klass_name: str) -> Iterator[dict]:
        return self.paginate(f"/v1/customers/{_id(customer_id)}/klasses/{_id(klass_name)}")

    def kobject_by_external_id(self, klass_name: str, external_id: str) -> dict | None:
        try:
            return self.get_data(f"/v1/klasses/{_id(klass_name)}/externalId={_id(external_id)}")
        except KustomerNotFound:
            return None

    def note_create(self, conversation_id: str, body: str) -> dict:
        data = self.request(
            "POST", f"/v1/conversations/{_id(conversation_id)}/notes", json={"body": body}, creates=True
        )
        return data.get("data") if isinstance(data.get("data"), dict) else {}

    def draft_create(
        self, customer_id: str, *, conversation_kustomer_id: str, channel: str, body: str, subject: str = ""
    ) -> dict:
        """Stage a reply on the conversation's channel (email with its subject); sends nothing."""
        channel_fields = email_draft_fields(subject) if channel == "email" else {}
        payload = {
            "channel": channel,
            "conversation": conversation_kustomer_id,
            "body": body,
            **channel_fields,
        }
        data = self.request("POST", f"/v1/customers/{_id(customer_id)}/drafts", json=payload, creates=True)
        return data.get("data") if isinstance(data.get("data"), dict) else {}

    def draft_send(self, draft_id: str) -> dict:
        body = draft_send_body(timezone.now().isoformat().replace("+00:00", "Z"))
        data = self.request("PUT", f"/v1/drafts/{_id(draft_id)}", json=body, creates=True)
        return data.get("data") if isinstance(data.get("data"), dict) else {}

    # --- People, attribute definitions, webhook registration (kustomer_connect) ---------------

    def people_list(self, kind: str, *, page_size: int = 500) -> Iterator[dict]:
        """Every user (`kind` "users") or team ("teams"), page by page."""
        return self.paginate(f"/v1/{_id(kind)}", page_size=page_size)

    def metadata_get(self, klass: str) -> dict:
        return self.get_data(f"/v1/metadata/{_id(klass)}")

    def metadata_add(self, klass: str, properties: dict[str, dict]) -> dict:
        """Add attribute definitions (the others stay); the same PUT again changes nothing, so retried."""
        data = self.request("PUT", f"/v1/metadata/{_id(klass)}", json={"properties": properties})
        return data.get("data") if isinstance(data.get("data"), dict) else {}

    def outbound_webhooks_list(self) -> Iterator[dict]:
        return self.paginate("/v1/outbound-webhooks")

    def outbound_webhook_create(self, *, name: str, url: str, events: list[str]) -> dict:
        body = {"name": name, "url": url, "events": events}
        data = self.request("POST", "/v1/outbound-webhooks", json=body, creates=True)
        return data.get("data") if isinstance(data.get("data"), dict) else {}


_clients: dict[tuple, KustomerClient] = {}


def client_get() -> KustomerClient:
    """The client for the configured org; one per process (sessions are not shared across forks)."""
    key = (os.getpid(), settings.KUSTOMER_API_BASE_URL, settings.KUSTOMER_API_KEY)
    if key not in _clients:
        _clients[key] = KustomerClient(
            base_url=settings.KUSTOMER_API_BASE_URL,
            api_key=settings.KUSTOMER_API_KEY,
            budget=budget_get(),
            max_retries=settings.KUSTOMER_MAX_RETRIES,
            backoff_base=settings.KUSTOMER_BACKOFF_BASE_SECONDS,
            max_wait=settings.KUSTOMER_MAX_WAIT_SECONDS,
            timeout=(settings.KUSTOMER_TIMEOUT_CONNECT, settings.KUSTOMER_TIMEOUT_READ),
        )
    return _clients[key]


def client_checking() -> KustomerClient:
    """A client for connection checks: same key and budget, one retry, its last answer's `last_headers`."""
    shared = client_get()
    client = KustomerClient(
        base_url=shared.base_url,
        api_key=settings.KUSTOMER_API_KEY,
        budget=shared.budget,
        max_retries=1,
        backoff_base=shared.backoff_base,
        max_wait=shared.max_wait,
        timeout=shared.timeout,
    )
    client.last_headers = {}
    client.session.hooks["response"].append(lambda r, *a, **k: setattr(client, "last_headers", r.headers))
    return client


def client_sharing(share: float) -> KustomerClient:
    """A client for bulk reads (the history import): `share` of the org budget, patient with 429s.

    Its budget's `spent` counts the requests it made.
    """
    return KustomerClient(
        base_url=settings.KUSTOMER_API_BASE_URL,
        api_key=settings.KUSTOMER_API_KEY,
        budget=budget_share_get(share),
        max_retries=max(settings.KUSTOMER_MAX_RETRIES, 8),
        backoff_base=settings.KUSTOMER_BACKOFF_BASE_SECONDS,
        max_wait=max(settings.KUSTOMER_MAX_WAIT_SECONDS, 60.0),
        timeout=(settings.KUSTOMER_TIMEOUT_CONNECT, settings.KUSTOMER_TIMEOUT_READ),
    )
