"""Tolerant readers for Kustomer's JSON:API payloads: unknown fields ignored, odd types survive."""

from datetime import datetime
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


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_str(value: Any, max_length: int = 255) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    # PostgreSQL text cannot hold NUL; a sender could put one in any string.
    return str(value).replace("\x00", "")[:max_length]


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def json_clean(value: Any) -> Any:
    """A copy without NUL characters, which PostgreSQL's jsonb refuses."""
    if isinstance(value, str):
        return value.replace("\x00", "")
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
