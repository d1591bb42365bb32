"""JSON:API resources shaped like Kustomer's, and the seed file that populates them."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED_PATH = Path(__file__).with_name("seed.json")
PREVIEW_LIMIT = 256

_RELATIVE = re.compile(r"^now(?:([+-])(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?)?$")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """An aware datetime from an ISO 8601 string (Z accepted); ValueError otherwise."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp needs a timezone")
    return moment


def resolve_times(value: Any, now: datetime) -> Any:
    """Replace seed strings like "now-3d" or "now+2h30m" with ISO timestamps, so samples stay recent."""
    if isinstance(value, dict):
        return {key: resolve_times(item, now) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_times(item, now) for item in value]
    if isinstance(value, str) and (match := _RELATIVE.match(value)):
        sign, days, hours, minutes = match.groups()
        delta = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))
        return iso(now - delta if sign == "-" else now + delta)
    return value


def load_seed(path: Path = SEED_PATH, now: datetime | None = None) -> dict[str, Any]:
    return resolve_times(json.loads(path.read_text(encoding="utf-8")), now or datetime.now(UTC))


def rel(kind: str, id_: str, link: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"type": kind, "id": id_}}
    if link:
        out["links"] = {"self": link}
    return out


def user_resource(
    id_: str, name: str, email: str, user_type: str, org: str, created_at: str
) -> dict[str, Any]:
    return {
        "type": "user",
        "id": id_,
        "attributes": {
            "name": name,
            "displayName": name,
            "email": email,
            "userType": user_type,
            "createdAt": created_at,
            "updatedAt": created_at,
            "rev": 1,
        },
        "relationships": {"org": rel("org", org)},
        "links": {"self": f"/v1/users/{id_}"},
    }


def team_resource(seed: dict[str, Any], org: str) -> dict[str, Any]:
    created = seed["createdAt"]
    return {
        "type": "team",
        "id": seed["id"],
        "attributes": {
            "name": seed["name"],
            "displayName": seed["name"],
            "members": list(seed["members"]),
            "createdAt": created,
            "updatedAt": created,
            "rev": 1,
        },
        "relationships": {"org": rel("org", org)},
        "links": {"self": f"/v1/teams/{seed['id']}"},
    }


def customer_resource(seed: dict[str, Any], org: str) -> dict[str, Any]:
    created = seed["createdAt"]
    return {
        "type": "customer",
        "id": seed["id"],
        "attributes": {
            "name": seed["name"],
            "displayName": seed["name"],
            "externalId": seed.get("externalId"),
            # `verified`: the address or number was confirmed (a BearScope assumption about Kustomer's
            # customer record; seeded customers are verified unless the seed says otherwise).
            "emails": [{"type": "home", "email": seed["email"], "verified": seed.get("emailVerified", True)}]
            if seed.get("email")
            else [],
            "phones": [
                {"type": "mobile", "phone": seed["phone"], "verified": seed.get("phoneVerified", True)}
            ]
            if seed.get("phone")
            else [],
            "custom": {},
            "createdAt": created,
            "updatedAt": created,
            "modifiedAt": created,
            "rev": 1,
        },
        "relationships": {"org": rel("org", org)},
        "links": {"self": f"/v1/customers/{seed['id']}"},
    }


def kobject_resource(klass: str, seed: dict[str, Any], org: str) -> dict[str, Any]:
    created = seed["createdAt"]
    return {
        "type": "kobject",
        "id": seed["id"],
        "attributes": {
            "externalId": seed["externalId"],
            "title": seed.get("title", seed["externalId"]),
            "custom": dict(seed["custom"]),
            "createdAt": created,
            "updatedAt": created,
            "rev": 1,
        },
        "relationships": {
            "org": rel("org", org),
            "klass": rel("klass", klass),
            "customer": rel("customer", seed["customer"], f"/v1/customers/{seed['customer']}"),
        },
        "links": {"self": f"/v1/klasses/{klass}/{seed['id']}"},
    }


def conversation_resource(
    *,
    id_: str,
    customer_id: str,
    channel: str,
    name: str,
    created_at: str,
    created_by: str,
    org: str,
    priority: int = 3,
    lang: str = "en",
) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": id_,
        "attributes": {
            "name": name,
            "channels": [channel],
            "status": "open",
            "priority": priority,
            "tags": [],
            "assignedUsers": [],
            "assignedTeams": [],
            "messageCount": 0,
            "inboundMessageCount": 0,
            "outboundMessageCount": 0,
            "noteCount": 0,
            "satisfaction": 0,
            "custom": {},
            "defaultLang": lang,
            "ended": False,
            "createdAt": created_at,
            "updatedAt": created_at,
            "modifiedAt": created_at,
            "rev": 1,
        },
        "relationships": {
            "org": rel("org", org),
            "customer": rel("customer", customer_id, f"/v1/customers/{customer_id}"),
            "createdBy": rel("user", created_by, f"/v1/users/{created_by}"),
            "modifiedBy": rel("user", created_by, f"/v1/users/{created_by}"),
            "messages": {"links": {"self": f"/v1/conversations/{id_}/messages"}},
        },
        "links": {"self": f"/v1/conversations/{id_}"},
    }


def message_resource(
    *,
    id_: str,
    conversation_id: str,
    customer_id: str,
    direction: str,
    channel: str,
    text: str,
    subject: str | None,
    sent_at: str,
    created_by: str,
    org: str,
    meta: dict[str, Any] | None = None,
    app: str | None = None,
) -> dict[str, Any]:
    """A message; long texts keep only a preview, the whole body going to meta.body as long emails do."""
    meta = dict(meta or {})
    preview = text
    if len(text) > PREVIEW_LIMIT:
        preview = text[: PREVIEW_LIMIT - 1] + "…"
        meta.setdefault("body", text)
    if subject is not None:
        meta.setdefault("subject", subject)
    return {
        "type": "message",
        "id": id_,
        "attributes": {
            "channel": channel,
            "app": app or {"email": "postmark", "chat": "chat"}.get(channel, channel),
            "direction": direction,
            "directionType": "in" if direction == "in" else "out",
            "preview": preview,
            "subject": subject,
            "size": len(text),
            "meta": meta,
            "status": "received" if direction == "in" else "sent",
            "auto": False,
            "sentAt": sent_at,
            "createdAt": sent_at,
            "updatedAt": sent_at,
            "modifiedAt": sent_at,
            "rev": 1,
        },
        "relationships": {
            "org": rel("org", org),
            "conversation": rel("conversation", conversation_id, f"/v1/conversations/{conversation_id}"),
            # Kustomer uses the plural type on messages and the singular elsewhere.
            "customer": rel("customers", customer_id, f"/v1/customers/{customer_id}"),
            "createdBy": rel("user", created_by, f"/v1/users/{created_by}"),
            "modifiedBy": rel("user", created_by, f"/v1/users/{created_by}"),
        },
        "links": {"self": f"/v1/messages/{id_}"},
    }


def note_resource(
    *, id_: str, conversation_id: str, customer_id: str, body: str, created_at: str, created_by: str, org: str
) -> dict[str, Any]:
    return {
        "type": "note",
        "id": id_,
        "attributes": {"body": body, "createdAt": created_at, "updatedAt": created_at, "rev": 1},
        "relationships": {
            "org": rel("org", org),
            "conversation": rel("conversation", conversation_id, f"/v1/conversations/{conversation_id}"),
            "customer": rel("customer", customer_id, f"/v1/customers/{customer_id}"),
            "createdBy": rel("user", created_by, f"/v1/users/{created_by}"),
        },
        "links": {"self": f"/v1/notes/{id_}"},
    }


def draft_resource(
    *,
    id_: str,
    conversation_id: str,
    customer_id: str,
    fields: dict[str, Any],
    created_at: str,
    created_by: str,
    org: str,
) -> dict[str, Any]:
    return {
        "type": "draft",
        "id": id_,
        "attributes": {
            "channel": fields["channel"],
            "body": fields["body"],
            "app": fields.get("app"),
            "to": fields.get("to"),
            "from": fields.get("from"),
            "subject": fields.get("subject"),
            "sendAt": fields.get("sendAt"),
            "scheduled": bool(fields.get("scheduled")),
            "status": "draft",
            "direction": "out",
            "createdAt": created_at,
            "updatedAt": created_at,
            "rev": 1,
        },
        "relationships": {
            "org": rel("org", org),
            "conversation": rel("conversation", conversation_id, f"/v1/conversations/{conversation_id}"),
            "customer": rel("customer", customer_id, f"/v1/customers/{customer_id}"),
            "createdBy": rel("user", created_by, f"/v1/users/{created_by}"),
        },
        "links": {"self": f"/v1/drafts/{id_}"},
    }


def conversation_summarise(conversation: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """Recompute the message counters and first/last markers Kustomer keeps on a conversation."""
    attrs = conversation["attributes"]
    inbound = [m for m in messages if m["attributes"]["direction"] == "in"]
    outbound = [m for m in messages if m["attributes"]["direction"] == "out"]

    def marker(message: dict[str, Any]) -> dict[str, Any]:
        a = message["attributes"]
        return {
            "id": message["id"],
            "sentAt": a["sentAt"],
            "createdAt": a["createdAt"],
            "channel": a["channel"],
        }

    attrs["messageCount"] = len(messages)
    attrs["inboundMessageCount"] = len(inbound)
    attrs["outboundMessageCount"] = len(outbound)
    for key, group, pick in (
        ("firstMessageIn", inbound, 0),
        ("lastMessageIn", inbound, -1),
        ("firstMessageOut", outbound, 0),
        ("lastMessageOut", outbound, -1),
    ):
        if group:
            attrs[key] = marker(group[pick])
    if messages:
        last = messages[-1]["attributes"]
        attrs["lastMessageAt"] = last["sentAt"]
        attrs["preview"] = last["preview"]
        attrs["direction"] = last["direction"]
