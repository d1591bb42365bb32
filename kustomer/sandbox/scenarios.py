"""Scenarios the control API drives (a customer writes, an agent resolves) and the replay of the samples."""

import copy
import hashlib
from typing import Any

from . import resources
from .config import SandboxConfig
from .errors import ApiError, bad_request
from .webhooks import build_event, iso_now, new_id

Events = list[dict[str, Any]]


def replay_id(*parts: str) -> str:
    """A stable event id, so that replaying the samples twice is recognisably the same events."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


class ScenariosMixin:
    """Uses SandboxState's lock, data and helpers; every public method takes the lock itself."""

    def scenario_new_conversation(self, body: dict[str, Any]) -> tuple[dict[str, Any], Events]:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("text is required.", "/text")
        channel = body.get("channel") or "email"
        with self.lock:
            customer = self._customer(str(body.get("customer_id")))
            now_iso = iso_now()
            conv = resources.conversation_resource(
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
            resources.conversation_summarise(conv, [message])
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
        # The class itself, not an import of it: state.py mixes this module in.
        fresh = type(self)(
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
            resources.conversation_summarise(created, first_in)
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
