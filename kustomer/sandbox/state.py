"""The sandbox's in-memory Kustomer org: seeded data, the writes our client makes, and their webhooks."""

import copy
import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import resources as r
from .traffic import FaultQueue, FaultRule, MinuteBudget, Stats
from .webhooks import build_event, iso_now, new_id

CUSTOM_KEY = re.compile(r"^[a-z][A-Za-z0-9]*(Str|Txt|Num|Bool|At|Url|Id)$")
STR_LIMIT = 1024
STATUSES = ("open", "snoozed", "done")
PATCHABLE = {"custom", "status", "priority", "tags", "name", "assignedUsers", "assignedTeams", "defaultLang"}
# Clocks of the caller and the sandbox may differ a little; "send now" must not become "schedule".
SEND_NOW_SKEW = timedelta(seconds=5)

Events = list[dict[str, Any]]


class ApiError(Exception):
    """An HTTP error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(kind: str) -> ApiError:
    """Kustomer's older error shape, which its 404s still use."""
    return ApiError(404, {"errors": [{"code": "not_found", "message": f"{kind} not found", "meta": {}}]})


def bad_request(detail: str, pointer: str | None = None, code: str = "invalid_attribute") -> ApiError:
    error: dict[str, Any] = {"status": 400, "code": code, "title": "Bad Request", "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    return ApiError(400, {"errors": [error]})


def too_many(detail: str, headers: dict[str, str] | None = None) -> ApiError:
    error = {"status": 429, "code": "rate_limited", "title": "Too Many Requests", "detail": detail}
    return ApiError(429, {"errors": [error]}, headers)


def custom_value_check(key: str, value: Any) -> None:
    """Raise 400 unless `value` fits the type named by the custom attribute's suffix."""
    pointer = f"/custom/{key}"
    match = CUSTOM_KEY.match(key)
    if not match:
        raise bad_request(
            f"Custom attribute '{key}' must end in a type suffix (Str, Txt, Num, Bool, At, Url, Id).", pointer
        )
    if value is None:
        return
    suffix = match.group(1)
    if suffix == "Num":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif suffix == "Bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise bad_request(f"Custom attribute '{key}' has the wrong type for its '{suffix}' suffix.", pointer)
    if suffix == "Str" and len(value) > STR_LIMIT:
        raise bad_request(f"Custom attribute '{key}' is longer than {STR_LIMIT} characters.", pointer)
    if suffix == "At":
        try:
            r.parse_iso(value)
        except ValueError as exc:
            raise bad_request(f"Custom attribute '{key}' is not an ISO 8601 timestamp.", pointer) from exc


def patch_value_check(key: str, value: Any) -> None:
    pointer = f"/{key}"
    if key == "status" and value not in STATUSES:
        raise bad_request(f"status must be one of {', '.join(STATUSES)}.", pointer)
    if key == "priority" and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5):
        raise bad_request("priority must be an integer from 1 to 5.", pointer)
    if key in ("tags", "assignedUsers", "assignedTeams") and (
        not isinstance(value, list) or not all(isinstance(item, str) for item in value)
    ):
        raise bad_request(f"{key} must be a list of strings.", pointer)
    if key in ("name", "defaultLang") and not isinstance(value, str):
        raise bad_request(f"{key} must be a string.", pointer)


def replay_id(*parts: str) -> str:
    """A stable event id, so that replaying the samples twice is recognisably the same events."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


@dataclass
class SandboxConfig:
    api_key: str | None = None
    org: str | None = None
    machine_user_id: str = "machine-user-0001"
    rate_limit: int = 1000
    customer_write_limit: int = 120
    latency_ms: int = 0
    reset_epoch: bool = False
    retry_after: bool = False
    faults: list[FaultRule] = field(default_factory=list)
    seed_path: Path = r.SEED_PATH
    webhook_timeout: float = 10
    verbose: bool = False


class SandboxState:
    """Everything the sandbox knows, guarded by one re-entrant lock; public methods take it themselves."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.reset()
        self.faults.rules.extend(copy.deepcopy(self.config.faults))

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: data, budgets, stats; faults and the webhook subscription are cleared."""
        with self.lock:
            seed = r.load_seed(self.config.seed_path)
            self.seed = seed
            self.org: str = self.config.org or seed["org"]["id"]
            self.system_user: str = seed["systemUser"]
            self.agent_user: str = next(u["id"] for u in seed["users"] if u["userType"] == "user")
            self.support_email: str = seed["supportEmail"]
            self.order_klass: str = seed["orderKlass"]
            self.users = {
                u["id"]: r.user_resource(u["id"], u["name"], u["email"], u["userType"], self.org)
                for u in seed["users"]
            }
            machine = self.config.machine_user_id
            self.users[machine] = r.user_resource(
                machine, "BearScope", "bearscope@sandbox.invalid", "machine", self.org
            )
            self.customers = {c["id"]: r.customer_resource(c, self.org) for c in seed["customers"]}
            self.kobjects = {
                klass: {k["id"]: r.kobject_resource(klass, k, self.org) for k in items}
                for klass, items in seed["kobjects"].items()
            }
            self.conversations: dict[str, dict[str, Any]] = {}
            self.messages: dict[str, list[dict[str, Any]]] = {}
            self.notes: dict[str, list[dict[str, Any]]] = {}
            self.drafts: dict[str, dict[str, Any]] = {}
            for conv in seed["conversations"]:
                self._seed_conversation(conv)
            self.faults = FaultQueue()
            self.stats = Stats()
            self.budget = MinuteBudget(self.config.rate_limit)
            self.customer_writes: dict[str, MinuteBudget] = {}
            self.latency_ms = self.config.latency_ms
            self.reset_epoch = self.config.reset_epoch
            self.retry_after = self.config.retry_after
            self.subscription: dict[str, str] | None = None

    def _seed_conversation(self, seed: dict[str, Any]) -> None:
        customer = self.customers[seed["customer"]]
        first_text = next((m["text"] for m in seed["messages"] if m["direction"] == "in"), "")
        conv = r.conversation_resource(
            id_=seed["id"],
            customer_id=customer["id"],
            channel=seed["channel"],
            name=seed.get("subject") or first_text[:80],
            created_at=seed["createdAt"],
            created_by=self.system_user,
            org=self.org,
            priority=seed.get("priority", 3),
            lang=seed.get("lang", "en"),
        )
        start = r.parse_iso(seed["createdAt"])
        messages = []
        for m in seed["messages"]:
            sent_at = r.iso(start + timedelta(seconds=m["after"]))
            messages.append(
                self._build_message(
                    conv, m["direction"], m["text"], sent_at, m["by"] or self.system_user, id_=m["id"]
                )
            )
        self.conversations[conv["id"]] = conv
        self.messages[conv["id"]] = messages
        self.notes[conv["id"]] = []
        r.conversation_summarise(conv, messages)
        attrs = conv["attributes"]
        attrs["updatedAt"] = attrs["modifiedAt"] = attrs.get("lastMessageAt", seed["createdAt"])
        if seed["status"] != "open":
            ended = r.iso(r.parse_iso(attrs["updatedAt"]) + timedelta(minutes=10))
            authors = [m["by"] for m in seed["messages"] if m["by"]]
            self._apply_status(conv, seed["status"], ended, authors[-1] if authors else self.agent_user)
            attrs["assignedUsers"] = sorted(set(authors))

    # --- helpers (lock held by the caller) ---------------------------------------------------------

    def _event_org(self) -> str:
        return (self.subscription or {}).get("org") or self.org

    def _event(
        self, name: str, resource: dict[str, Any], changes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return build_event(name, resource, org=self._event_org(), changes=changes)

    def _conversation(self, conversation_id: str) -> dict[str, Any]:
        conv = self.conversations.get(conversation_id)
        if conv is None:
            raise not_found("Conversation")
        return conv

    def _customer(self, customer_id: str) -> dict[str, Any]:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found("Customer")
        return customer

    def _customer_email(self, customer_id: str) -> str | None:
        emails = self.customers[customer_id]["attributes"]["emails"]
        return emails[0]["email"] if emails else None

    def _spend_customer_write(self, customer_id: str, now: float) -> None:
        budget = self.customer_writes.setdefault(customer_id, MinuteBudget(self.config.customer_write_limit))
        if not budget.spend(now):
            raise too_many(
                f"More than {budget.limit} messages, drafts and notes per minute for this customer."
            )

    def _build_message(
        self,
        conv: dict[str, Any],
        direction: str,
        text: str,
        sent_at: str,
        author: str,
        *,
        id_: str | None = None,
        meta: dict[str, Any] | None = None,
        subject: str | None = None,
        channel: str | None = None,
        app: str | None = None,
    ) -> dict[str, Any]:
        customer_id = conv["relationships"]["customer"]["data"]["id"]
        channel = channel or conv["attributes"]["channels"][0]
        meta = dict(meta or {})
        if channel == "email":
            customer_email = self._customer_email(customer_id)
            ours, theirs = self.support_email, customer_email
            sender, receiver = (theirs, ours) if direction == "in" else (ours, theirs)
            meta.setdefault("from", sender)
            meta.setdefault("to", [{"email": receiver}] if receiver else [])
            if subject is None:
                name = conv["attributes"]["name"]
                subject = name if direction == "in" else f"Re: {name}"
        return r.message_resource(
            id_=id_ or new_id(),
            conversation_id=conv["id"],
            customer_id=customer_id,
            direction=direction,
            channel=channel,
            text=text,
            subject=subject,
            sent_at=sent_at,
            created_by=author,
            org=self.org,
            meta=meta,
            app=app,
        )

    def _touch(self, conv: dict[str, Any], author: str, now_iso: str) -> None:
        attrs = conv["attributes"]
        attrs["rev"] += 1
        attrs["updatedAt"] = attrs["modifiedAt"] = now_iso
        conv["relationships"]["modifiedBy"] = r.rel("user", author, f"/v1/users/{author}")

    def _apply_status(self, conv: dict[str, Any], status: str, now_iso: str, author: str) -> dict[str, Any]:
        """Set the status (and what Kustomer keeps with it); returns the `changes` entry."""
        attrs = conv["attributes"]
        before = attrs["status"]
        attrs["status"] = status
        attrs["ended"] = status == "done"
        if status == "done":
            attrs.update(endedAt=now_iso, endedBy=author, endedByType="user")
            attrs["lastDone"] = {"createdAt": now_iso, "byUser": author}
        self._touch(conv, author, now_iso)
        return {"op": "replace", "before": before, "after": status}

    def _append_message(self, conv: dict[str, Any], message: dict[str, Any], author: str) -> Events:
        """Record a message on its conversation; a customer writing into a done conversation reopens it."""
        messages = self.messages[conv["id"]]
        messages.append(message)
        r.conversation_summarise(conv, messages)
        now_iso = message["attributes"]["createdAt"]
        events = [self._event("kustomer.message.create", message)]
        if message["attributes"]["direction"] == "in" and conv["attributes"]["status"] != "open":
            change = self._apply_status(conv, "open", now_iso, author)
            changes = {"attributes": {"status": change}, "relationships": {}}
            events.append(self._event("kustomer.conversation.update", conv, changes))
        else:
            self._touch(conv, conv["relationships"]["modifiedBy"]["data"]["id"], now_iso)
        return events

    # --- reads -------------------------------------------------------------------------------------

    def user_current(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.users[self.config.machine_user_id])

    def conversation_get(self, conversation_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._conversation(conversation_id))

    def messages_list(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._conversation(conversation_id)
            return copy.deepcopy(self.messages[conversation_id])

    def message_get(self, message_id: str) -> dict[str, Any]:
        with self.lock:
            for messages in self.messages.values():
                for message in messages:
                    if message["id"] == message_id:
                        return copy.deepcopy(message)
            raise not_found("Message")

    def notes_list(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._conversation(conversation_id)
            return copy.deepcopy(self.notes[conversation_id])

    def drafts_list(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._conversation(conversation_id)
            drafts = [
                d
                for d in self.drafts.values()
                if d["relationships"]["conversation"]["data"]["id"] == conversation_id
            ]
            return copy.deepcopy(sorted(drafts, key=lambda d: d["attributes"]["createdAt"]))

    def customer_get(self, customer_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._customer(customer_id))

    def customer_kobjects(self, customer_id: str, klass: str) -> list[dict[str, Any]]:
        with self.lock:
            self._customer(customer_id)
            items = [
                k
                for k in self.kobjects.get(klass, {}).values()
                if k["relationships"]["customer"]["data"]["id"] == customer_id
            ]
            return copy.deepcopy(sorted(items, key=lambda k: k["attributes"]["createdAt"], reverse=True))

    def kobject_by_external_id(self, klass: str, external_id: str) -> dict[str, Any]:
        with self.lock:
            for item in self.kobjects.get(klass, {}).values():
                if item["attributes"]["externalId"] == external_id:
                    return copy.deepcopy(item)
            raise not_found("KObject")

    def conversation_raw(self, conversation_id: str) -> dict[str, Any]:
        with self.lock:
            conv = self._conversation(conversation_id)
            return copy.deepcopy(
                {
                    "conversation": conv,
                    "custom": conv["attributes"]["custom"],
                    "messages": self.messages[conversation_id],
                    "notes": self.notes[conversation_id],
                    "drafts": [
                        d
                        for d in self.drafts.values()
                        if d["relationships"]["conversation"]["data"]["id"] == conversation_id
                    ],
                }
            )

    # --- writes through the API --------------------------------------------------------------------

    def conversation_patch(self, conversation_id: str, body: Any) -> tuple[dict[str, Any], Events]:
        """Apply a flat PATCH body: `custom` keys merge (null clears), other attributes are set."""
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object.")
        for key, value in body.items():
            if key not in PATCHABLE:
                raise bad_request(f"Attribute '{key}' cannot be updated.", f"/{key}")
            if key == "custom":
                if not isinstance(value, dict):
                    raise bad_request("custom must be an object.", "/custom")
                for custom_key, custom_value in value.items():
                    custom_value_check(custom_key, custom_value)
            else:
                patch_value_check(key, value)
        author = self.config.machine_user_id
        with self.lock:
            conv = self._conversation(conversation_id)
            attrs = conv["attributes"]
            now_iso = iso_now()
            changed: dict[str, Any] = {}
            for key, value in body.items():
                if key == "custom":
                    merged = {**attrs["custom"], **value}
                    merged = {k: v for k, v in merged.items() if v is not None}
                    if merged != attrs["custom"]:
                        changed["custom"] = {"op": "replace", "before": attrs["custom"], "after": merged}
                        attrs["custom"] = merged
                elif key == "status":
                    if value != attrs["status"]:
                        changed["status"] = {"op": "replace", "before": attrs["status"], "after": value}
                elif attrs.get(key) != value:
                    changed[key] = {"op": "replace", "before": attrs.get(key), "after": value}
                    attrs[key] = value
            if not changed:
                return copy.deepcopy(conv), []
            if "status" in changed:
                self._apply_status(conv, body["status"], now_iso, author)
            else:
                self._touch(conv, author, now_iso)
            changes = {"attributes": changed, "relationships": {}}
            return copy.deepcopy(conv), [self._event("kustomer.conversation.update", conv, changes)]

    def message_create(self, conversation_id: str, body: Any, now: float) -> tuple[dict[str, Any], Events]:
        """Record a message on the timeline (it is not delivered to anyone)."""
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object.")
        direction = body.get("direction")
        if direction not in ("in", "out"):
            raise bad_request("direction must be 'in' or 'out'.", "/direction")
        channel = body.get("channel")
        if not isinstance(channel, str) or not channel:
            raise bad_request("channel is required.", "/channel")
        text = body.get("body") or body.get("preview")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("preview (or body) is required.", "/preview")
        meta = body.get("meta") or {}
        if not isinstance(meta, dict):
            raise bad_request("meta must be an object.", "/meta")
        author = self.config.machine_user_id
        with self.lock:
            conv = self._conversation(conversation_id)
            self._spend_customer_write(conv["relationships"]["customer"]["data"]["id"], now)
            message = self._build_message(
                conv,
                direction,
                text,
                iso_now(),
                author,
                meta=meta,
                subject=body.get("subject"),
                channel=channel,
                app=body.get("app"),
            )
            events = self._append_message(conv, message, author)
            return copy.deepcopy(message), events

    def note_create(self, conversation_id: str, body: Any, now: float) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"].strip():
            raise bad_request("body is required.", "/body")
        with self.lock:
            conv = self._conversation(conversation_id)
            customer_id = conv["relationships"]["customer"]["data"]["id"]
            self._spend_customer_write(customer_id, now)
            note = r.note_resource(
                id_=new_id(),
                conversation_id=conversation_id,
                customer_id=customer_id,
                body=body["body"],
                created_at=iso_now(),
                created_by=self.config.machine_user_id,
                org=self.org,
            )
            self.notes[conversation_id].append(note)
            conv["attributes"]["noteCount"] = len(self.notes[conversation_id])
            return copy.deepcopy(note)

    def draft_create(self, customer_id: str, body: Any, now: float) -> tuple[dict[str, Any], Events]:
        """Stage a draft; like Kustomer, a `sendAt` without `scheduled: true` sends it at once."""
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object.")
        for key in ("channel", "conversation", "body"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise bad_request(f"{key} is required.", f"/{key}")
        send_at = self._send_at(body) if "sendAt" in body else None
        with self.lock:
            self._customer(customer_id)
            conv = self.conversations.get(body["conversation"])
            if conv is None or conv["relationships"]["customer"]["data"]["id"] != customer_id:
                raise bad_request("conversation does not exist for this customer.", "/conversation")
            self._spend_customer_write(customer_id, now)
            fields = dict(body)
            if fields["channel"] == "email":
                # Unconfirmed whether Kustomer requires these: default to the thread's addresses.
                fields.setdefault("to", self._customer_email(customer_id))
                fields.setdefault("from", self.support_email)
            draft = r.draft_resource(
                id_=new_id(),
                conversation_id=conv["id"],
                customer_id=customer_id,
                fields=fields,
                created_at=iso_now(),
                created_by=self.config.machine_user_id,
                org=self.org,
            )
            self.drafts[draft["id"]] = draft
            due = send_at is not None and (
                not body.get("scheduled") or send_at <= datetime.now(UTC) + SEND_NOW_SKEW
            )
            if due:
                return self._draft_send(draft)
            return copy.deepcopy(draft), []

    def draft_update(self, draft_id: str, body: Any) -> tuple[dict[str, Any], Events]:
        """PUT /v1/drafts/{id}: a `sendAt` at or before now sends the draft; a later one schedules it."""
        if not isinstance(body, dict):
            raise bad_request("Body must be a JSON object.")
        if "sendAt" not in body:
            raise bad_request("sendAt is required.", "/sendAt")
        send_at = self._send_at(body)
        with self.lock:
            draft = self.drafts.get(draft_id)
            if draft is None:
                raise not_found("Draft")
            attrs = draft["attributes"]
            for key in ("body", "subject", "to", "from"):
                if key in body:
                    attrs[key] = body[key]
            attrs["sendAt"] = body["sendAt"]
            attrs["updatedAt"] = iso_now()
            attrs["rev"] += 1
            if send_at <= datetime.now(UTC) + SEND_NOW_SKEW:
                return self._draft_send(draft)
            attrs["scheduled"] = True
            return copy.deepcopy(draft), []

    @staticmethod
    def _send_at(body: dict[str, Any]) -> datetime:
        try:
            return r.parse_iso(body["sendAt"])
        except (TypeError, ValueError, AttributeError) as exc:
            raise bad_request("sendAt must be an ISO 8601 timestamp with a timezone.", "/sendAt") from exc

    def _draft_send(self, draft: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        attrs = draft["attributes"]
        conv = self.conversations[draft["relationships"]["conversation"]["data"]["id"]]
        author = draft["relationships"]["createdBy"]["data"]["id"]
        meta: dict[str, Any] = {"draftId": draft["id"]}
        if attrs["channel"] == "email":
            to = attrs["to"]
            meta.update({"from": attrs["from"], "to": to if isinstance(to, list) else [{"email": to}]})
        message = self._build_message(
            conv,
            "out",
            attrs["body"],
            iso_now(),
            author,
            meta=meta,
            subject=attrs.get("subject"),
            channel=attrs["channel"],
            app=attrs.get("app"),
        )
        events = self._append_message(conv, message, author)
        del self.drafts[draft["id"]]
        attrs.update(status="sent", sentAt=message["attributes"]["sentAt"])
        draft["relationships"]["message"] = r.rel("message", message["id"], f"/v1/messages/{message['id']}")
        return copy.deepcopy(draft), events

    # --- scenarios driven through the control API ---------------------------------------------------

    def scenario_new_conversation(self, body: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("text is required.", "/text")
        channel = body.get("channel") or "email"
        with self.lock:
            customer = self._customer(str(body.get("customer_id")))
            now_iso = iso_now()
            conv = r.conversation_resource(
                id_=new_id(),
                customer_id=customer["id"],
                channel=channel,
                name=body.get("subject") or text[:80],
                created_at=now_iso,
                created_by=self.system_user,
                org=self.org,
            )
            message = self._build_message(
                conv, "in", text, now_iso, self.system_user, subject=body.get("subject")
            )
            self.conversations[conv["id"]] = conv
            self.messages[conv["id"]] = [message]
            self.notes[conv["id"]] = []
            r.conversation_summarise(conv, [message])
            events = [
                self._event("kustomer.conversation.create", conv),
                self._event("kustomer.message.create", message),
            ]
            return {"conversation_id": conv["id"], "message_id": message["id"]}, events

    def scenario_customer_message(self, body: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("text is required.", "/text")
        with self.lock:
            conv = self._conversation(str(body.get("conversation_id")))
            message = self._build_message(conv, "in", text, iso_now(), self.system_user)
            events = self._append_message(conv, message, self.system_user)
            return {"conversation_id": conv["id"], "message_id": message["id"]}, events

    def scenario_set_status(self, body: dict[str, Any], status: str) -> tuple[dict[str, Any], Events]:
        """An agent resolves or reopens a conversation in Kustomer's UI."""
        with self.lock:
            conv = self._conversation(str(body.get("conversation_id")))
            if conv["attributes"]["status"] == status:
                raise ApiError(
                    409,
                    {
                        "errors": [
                            {
                                "status": 409,
                                "code": "conflict",
                                "title": "Conflict",
                                "detail": f"Conversation is already {status}.",
                            }
                        ]
                    },
                )
            change = self._apply_status(conv, status, iso_now(), self.agent_user)
            changes = {"attributes": {"status": change}, "relationships": {}}
            event = self._event("kustomer.conversation.update", conv, changes)
            return {"conversation_id": conv["id"], "rev": conv["attributes"]["rev"]}, [event]

    def replay_events(self, org: str | None = None) -> Events:
        """The seeded samples as webhooks, in the order Kustomer would have sent them, with stable ids."""
        org = org or self.org
        fresh = SandboxState(
            SandboxConfig(
                org=self.config.org,
                machine_user_id=self.config.machine_user_id,
                seed_path=self.config.seed_path,
            )
        )
        events: Events = []

        def add(name: str, resource: dict[str, Any], changes: dict[str, Any] | None = None) -> None:
            rev = str(resource["attributes"].get("rev", 1))
            event_id = replay_id(org, name, resource["id"], rev)
            events.append(build_event(name, resource, org=org, changes=changes, event_id=event_id))

        announced: set[str] = set()
        for seed in fresh.seed["conversations"]:
            final = fresh.conversations[seed["id"]]
            messages = fresh.messages[seed["id"]]
            customer_id = final["relationships"]["customer"]["data"]["id"]
            if customer_id not in announced:
                announced.add(customer_id)
                add("kustomer.customer.create", fresh.customers[customer_id])
            created = copy.deepcopy(final)
            attrs = created["attributes"]
            for key in ("endedAt", "endedBy", "endedByType", "lastDone"):
                attrs.pop(key, None)
            attrs.update(status="open", ended=False, rev=1, updatedAt=attrs["createdAt"], assignedUsers=[])
            first_in = [m for m in messages if m["attributes"]["direction"] == "in"][:1]
            r.conversation_summarise(created, first_in)
            add("kustomer.conversation.create", created)
            for message in messages:
                add("kustomer.message.create", message)
            if final["attributes"]["status"] == "done":
                status = {"op": "replace", "before": "open", "after": "done"}
                add(
                    "kustomer.conversation.update",
                    final,
                    {"attributes": {"status": status}, "relationships": {}},
                )
        return events
