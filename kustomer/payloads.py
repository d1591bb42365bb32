"""Tolerant readers for Kustomer's JSON:API payloads: unknown fields ignored, odd types survive."""

import math
import re
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

HANDLED_EVENTS = frozenset(
    {
        "kustomer.conversation.create",
        "kustomer.conversation.update",
        "kustomer.message.create",
        "kustomer.message.update",
        "kustomer.customer.create",
        "kustomer.customer.update",
    }
)


# A 64-bit signed column (rev) holds no more; anything beyond is not a real value.
INT_LIMIT = 2**63 - 1
# JSON may escape half of a surrogate pair alone; no database encoding can store one.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_clean(value: str) -> str:
    """`value` as storable text: NUL removed (PostgreSQL refuses it), lone surrogates replaced."""
    return LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_str(value: Any, max_length: int = 255) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return text_clean(str(value))[:max_length]


def as_int(value: Any) -> int | None:
    """An integer a 64-bit column can hold, from an int, a whole float or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    elif isinstance(value, str):
        try:
            value = int(value.strip(), 10) if value.strip().lstrip("-").isdecimal() else None
        except ValueError:  # more digits than int() converts, or "--5"
            value = None
    return value if value is not None and -INT_LIMIT <= value <= INT_LIMIT else None


def as_datetime(value: Any) -> datetime | None:
    """An aware datetime (naive ones are UTC) that UTC can represent, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        # Stored values are aware; comparing a naive one with them would raise.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def json_clean(value: Any) -> Any:
    """A copy PostgreSQL's jsonb and SQLite's JSON check accept: clean text, no NaN or infinity."""
    if isinstance(value, str):
        return text_clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {json_clean(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_clean(v) for v in value]
    return value


def related_id(resource: dict, name: str) -> str:
    """The id of a to-one relationship; the type is not checked (customer vs customers)."""
    return as_str(
        as_dict(as_dict(as_dict(resource.get("relationships")).get(name)).get("data")).get("id"), 64
    )


def related_ids(resource: dict, name: str) -> list[str]:
    data = as_dict(as_dict(resource.get("relationships")).get(name)).get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    return [as_str(as_dict(item).get("id"), 64) for item in items if as_dict(item).get("id")]


def event_conversation_id(name: str, data: dict) -> str:
    """The conversation an event is about, for search and locking; empty when none."""
    if name.startswith("kustomer.conversation."):
        return as_str(data.get("id"), 64)
    if name.startswith("kustomer.message."):
        return related_id(data, "conversation")
    return ""


def changed_custom_keys(changes: Any) -> set[str] | None:
    """The custom attribute keys a change touched, or None if it touched anything else too.

    Kustomer describes custom changes either as one `custom` entry with before/after objects or
    as dotted `custom.<key>` entries; both are read.
    """
    changes = as_dict(changes)
    if any(as_dict(changes.get("relationships")).values()):
        return None
    attributes = as_dict(changes.get("attributes"))
    if not attributes:
        return None
    keys: set[str] = set()
    for name, change in attributes.items():
        if name == "custom":
            before = as_dict(as_dict(change).get("before"))
            after = as_dict(as_dict(change).get("after"))
            keys |= {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        elif name.startswith("custom."):
            keys.add(name.removeprefix("custom."))
        elif name not in ("updatedAt", "rev", "modifiedAt", "modifiedBy"):
            return None
    return keys


# --- Users and teams, attribute definitions, webhook subscriptions (kustomer_connect, people) ---


def person_fields(resource: dict) -> dict[str, str]:
    """A user's or a team's id, name, display name, email and user type ("" where absent)."""
    attributes = as_dict(resource.get("attributes"))
    return {
        "kustomer_id": as_str(resource.get("id"), 64),
        "name": as_str(attributes.get("name")),
        "display_name": as_str(attributes.get("displayName")),
        "email": as_str(attributes.get("email"), 254),
        "user_type": as_str(attributes.get("userType"), 16),
    }


def klass_properties(klass: dict) -> dict[str, dict]:
    """The custom attribute definitions of a Klass (GET /v1/metadata/{resource}), by name."""
    properties = as_dict(as_dict(klass.get("attributes")).get("properties"))
    return {as_str(name): as_dict(definition) for name, definition in properties.items()}


def subscription_token(hook: dict) -> str:
    """Assumption: a subscription as listed may carry its `token`; when it does not, only the answer
    to the POST that created it showed it."""
    return as_str(as_dict(hook.get("attributes")).get("token"), 512)


def subscription_fields(hook: dict) -> dict:
    """An outbound webhook subscription: id, name, url, events, enabled and token ("" when not shown)."""
    attributes = as_dict(hook.get("attributes"))
    return {
        "id": as_str(hook.get("id"), 64),
        "name": as_str(attributes.get("name")),
        "url": as_str(attributes.get("url"), 2048),
        "events": sorted({as_str(e) for e in as_list(attributes.get("events")) if as_str(e)}),
        "enabled": attributes.get("enabled") is not False,
        "token": subscription_token(hook),
    }


def message_text_parts(resource: dict) -> tuple[str, str]:
    """A message's `preview` and its `meta.body` ("" where absent), as Kustomer answered them."""
    attributes = as_dict(resource.get("attributes"))
    body = as_dict(attributes.get("meta")).get("body")
    preview = attributes.get("preview")
    return (preview if isinstance(preview, str) else "", body if isinstance(body, str) else "")
