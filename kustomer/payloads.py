"""Tolerant readers for Kustomer's JSON:API payloads: unknown fields ignored, odd types survive.

The only place outside the client that reads Kustomer's JSON: other apps get plain values from
these readers, so a wrong assumption about a payload is a one-file fix. Assumptions not confirmed
by Kustomer's docs say so in their docstring ("Assumption:").
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
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


def envelope_org(envelope: Any) -> str:
    """The Kustomer org a webhook event belongs to: the envelope's top-level `org` id."""
    return as_str(as_dict(envelope).get("org"), 64)


def related_id(resource: dict, name: str) -> str:
    """The id of a to-one relationship; the type is not checked (customer vs customers)."""
    return as_str(
        as_dict(as_dict(as_dict(resource.get("relationships")).get(name)).get("data")).get("id"), 64
    )


def mirror_org(resource: Any, envelope_org: str = "") -> str:
    """The org a mirrored row belongs to: the webhook envelope's `org`, else the resource's own
    `relationships.org`, else the configured KUSTOMER_ORG_ID.

    Assumption: resources read through the API carry `relationships.org` (the envelope's `org` is
    documented; the resource's is not). Rows met through a conversation (its customer, its messages)
    take the conversation's org instead, so one conversation never splits in two.
    """
    return envelope_org or related_id(as_dict(resource), "org") or settings.KUSTOMER_ORG_ID


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


def resource_id(resource: Any) -> str:
    return as_str(as_dict(resource).get("id"), 64)


def attributes(resource: Any) -> dict:
    return as_dict(as_dict(resource).get("attributes"))


# --- Messages, notes and drafts ---------------------------------------------------------------


def message_body_text(attrs: dict) -> str:
    """Assumption: a long email's full text is in meta.body when present, else in preview."""
    body = as_dict(attrs.get("meta")).get("body")
    if isinstance(body, str) and body.strip():
        return body
    preview = attrs.get("preview")
    return preview if isinstance(preview, str) else ""


def message_text(message: Any) -> str:
    """A message resource's full text."""
    return message_body_text(attributes(message))


def message_is_outbound(message: Any) -> bool:
    """Written by the team (or us), not the customer."""
    return attributes(message).get("direction") == "out"


def message_draft_id(message: Any) -> str:
    """Assumption: a message sent from a draft names the draft in meta.draftId (or a `draft` relationship)."""
    meta = as_dict(attributes(message).get("meta"))
    return as_str(meta.get("draftId"), 64) or related_id(as_dict(message), "draft")


def draft_is_sent(draft: Any) -> bool:
    """Assumption: a sent draft either leaves the conversation's draft list or says status "sent"."""
    attrs = attributes(draft)
    return attrs.get("status") == "sent" or bool(attrs.get("sentAt"))


def body_text(resource: Any) -> str:
    """The `body` of a note or a draft, stripped."""
    return as_str(attributes(resource).get("body"), 100_000).strip()


def email_headers(meta: Any) -> dict[str, str]:
    """An email message's headers with lower-case names, whether Kustomer sent an object or a list.

    Top-level text or flag fields of `meta` count too (some senders put Precedence there).
    """
    meta = as_dict(meta)
    raw = meta.get("headers")
    pairs: list[tuple] = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(as_dict(h).get("name"), as_dict(h).get("value")) for h in raw]
    pairs += [(k, v) for k, v in meta.items() if isinstance(v, str | bool)]
    return {str(k).lower(): str(v).strip().lower() for k, v in pairs if k and v is not None}


def email_sender(meta: Any) -> str:
    """The sender's address of an email message (`meta.from` as text, object or list), lower-case."""
    sender = as_dict(meta).get("from")
    if isinstance(sender, dict):
        sender = sender.get("email")
    elif isinstance(sender, list) and sender:
        sender = as_dict(sender[0]).get("email")
    return str(sender or "").strip().lower()


# --- Customers and custom objects (orders) ----------------------------------------------------


def customer_emails(customer: Any) -> set[str]:
    """A customer record's email addresses, lower-case."""
    emails = {
        as_str(as_dict(e).get("email")).strip().lower() for e in as_list(attributes(customer).get("emails"))
    }
    return emails - {""}


def sms_sender_phone(meta: Any) -> str:
    """Assumption: an SMS message carries the customer's number in `meta.from` (text, or an object
    with `phone`). Returns it as written; empty when it is not there."""
    sender = as_dict(meta).get("from")
    if isinstance(sender, dict):
        sender = sender.get("phone")
    return as_str(sender, 64).strip()


def customer_verified_contacts(customer: Any) -> tuple[set[str], set[str]]:
    """Assumption: a confirmed email or phone says `verified: true` on its entry in `emails` / `phones`.

    Returns (verified emails lower-case, verified phones as written). An entry without the flag, or
    with anything but `true`, is unverified: identity on chat and SMS then fails closed.
    """
    attrs = attributes(customer)
    emails = {
        as_str(e.get("email")).strip().lower()
        for e in map(as_dict, as_list(attrs.get("emails")))
        if e.get("verified") is True
    }
    phones = {
        as_str(p.get("phone"), 64).strip()
        for p in map(as_dict, as_list(attrs.get("phones")))
        if p.get("verified") is True
    }
    return emails - {""}, phones - {""}


def customer_record_phones(attrs: Any) -> list[str]:
    """A mirrored customer record's phone numbers as written (`attributes.phones[].phone`)."""
    phones = (as_str(as_dict(p).get("phone"), 64).strip() for p in as_list(as_dict(attrs).get("phones")))
    return [phone for phone in phones if phone]


def customer_record_names(attrs: Any) -> list[str]:
    """A mirrored customer record's names: full, display, first and last (blank ones left out)."""
    attrs = as_dict(attrs)
    names = (as_str(attrs.get(key)).strip() for key in ("name", "displayName", "firstName", "lastName"))
    return list(dict.fromkeys(name for name in names if name))


def kobject_field(kobject: Any, path: str) -> Any:
    """A KObject field by the mapping's dotted path (`externalId`, `custom.statusStr`) in its attributes."""
    value: Any = attributes(kobject)
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def kobject_created_at(kobject: Any) -> datetime | None:
    return as_datetime(attributes(kobject).get("createdAt"))


def kobject_customer_id(kobject: Any) -> str:
    """The customer a KObject (an order) belongs to."""
    return related_id(as_dict(kobject), "customer")


# --- Conversation snapshots -----------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentSnapshot:
    """Who a conversation was assigned to as one stored payload showed it, and when."""

    rev: int
    updated_at: datetime | None
    teams: tuple[str, ...]
    users: tuple[str, ...]


def assignment_snapshot(body: str) -> AssignmentSnapshot | None:
    """The assignment a stored conversation event shows; None when it says nothing about it."""
    try:
        attrs = attributes(as_dict(json.loads(body)).get("data"))
    except ValueError:
        return None
    if "assignedTeams" not in attrs and "assignedUsers" not in attrs:
        return None
    return AssignmentSnapshot(
        rev=as_int(attrs.get("rev")) or 0,
        updated_at=as_datetime(attrs.get("updatedAt")),
        teams=tuple(sorted(as_str(t, 64) for t in as_list(attrs.get("assignedTeams")))),
        users=tuple(sorted(as_str(u, 64) for u in as_list(attrs.get("assignedUsers")))),
    )


# --- Users and teams, attribute definitions, webhook subscriptions (kustomer_connect, people) ---


def person_fields(resource: dict) -> dict[str, str]:
    """A user's or a team's id, name, display name, email and user type ("" where absent)."""
    attrs = attributes(resource)
    return {
        "kustomer_id": resource_id(resource),
        "name": as_str(attrs.get("name")),
        "display_name": as_str(attrs.get("displayName")),
        "email": as_str(attrs.get("email"), 254),
        "user_type": as_str(attrs.get("userType"), 16),
    }


def klass_properties(klass: dict) -> dict[str, dict]:
    """The custom attribute definitions of a Klass (GET /v1/metadata/{resource}), by name."""
    properties = as_dict(attributes(klass).get("properties"))
    return {as_str(name): as_dict(definition) for name, definition in properties.items()}


def subscription_token(hook: dict) -> str:
    """Assumption: a subscription as listed may carry its `token`; when it does not, only the answer
    to the POST that created it showed it."""
    return as_str(attributes(hook).get("token"), 512)


def subscription_fields(hook: dict) -> dict:
    """An outbound webhook subscription: id, name, url, events, enabled and token ("" when not shown)."""
    attrs = attributes(hook)
    return {
        "id": resource_id(hook),
        "name": as_str(attrs.get("name")),
        "url": as_str(attrs.get("url"), 2048),
        "events": sorted({as_str(e) for e in as_list(attrs.get("events")) if as_str(e)}),
        "enabled": attrs.get("enabled") is not False,
        "token": subscription_token(hook),
    }


def message_text_parts(resource: dict) -> tuple[str, str]:
    """A message's `preview` and its `meta.body` ("" where absent), as Kustomer answered them."""
    attrs = attributes(resource)
    body = as_dict(attrs.get("meta")).get("body")
    preview = attrs.get("preview")
    return (preview if isinstance(preview, str) else "", body if isinstance(body, str) else "")


# --- Search (the history import) ----------------------------------------------------------------


def search_results(payload: Any) -> list[dict]:
    """The resources of a search answer (JSON:API `data`); items without an id are left out."""
    return [item for item in as_list(as_dict(payload).get("data")) if resource_id(item)]


def search_total(payload: Any) -> int | None:
    """How many resources match the whole query (`meta.total`), when Kustomer says."""
    return as_int(as_dict(as_dict(payload).get("meta")).get("total"))


def resource_updated_at(resource: Any) -> datetime | None:
    return as_datetime(attributes(resource).get("updatedAt"))


def resource_rev(resource: Any) -> int | None:
    return as_int(attributes(resource).get("rev"))


def custom_attribute_text(custom: Any, name: str) -> str:
    """A conversation custom attribute's value as trimmed text ('' when absent or not a scalar)."""
    return as_str(as_dict(custom).get(name)).strip()
