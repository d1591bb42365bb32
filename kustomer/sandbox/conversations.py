"""Conversations, messages and notes as the API reads and writes them (mixed into SandboxState)."""

import copy
from typing import Any

from . import resources
from .errors import bad_request, not_found
from .validation import PATCHABLE, custom_value_check, patch_value_check
from .webhooks import iso_now, new_id

Events = list[dict[str, Any]]


class ConversationsMixin:
    """Uses SandboxState's lock, data and helpers; every public method takes the lock itself."""

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
            undefined = sorted(set(body.get("custom", {})) - set(self.metadata["conversation"]))
            if self.strict_custom_attributes and undefined:
                raise bad_request(
                    f"Custom attribute '{undefined[0]}' is not defined on the conversation Klass.",
                    f"/custom/{undefined[0]}",
                )
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
            note = resources.note_resource(
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
