"""Drafts: staged, scheduled or sent as outbound messages (mixed into SandboxState)."""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from . import resources
from .errors import bad_request, not_found
from .webhooks import iso_now, new_id

# Clocks of the caller and the sandbox may differ a little; "send now" must not become "schedule".
SEND_NOW_SKEW = timedelta(seconds=5)

Events = list[dict[str, Any]]


class DraftsMixin:
    """Uses SandboxState's lock, data and helpers; every public method takes the lock itself."""

    def drafts_list(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._conversation(conversation_id)
            drafts = [
                d
                for d in self.drafts.values()
                if d["relationships"]["conversation"]["data"]["id"] == conversation_id
            ]
            return copy.deepcopy(sorted(drafts, key=lambda d: d["attributes"]["createdAt"]))

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
            draft = resources.draft_resource(
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
            return resources.parse_iso(body["sendAt"])
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
        draft["relationships"]["message"] = resources.rel(
            "message", message["id"], f"/v1/messages/{message['id']}"
        )
        return copy.deepcopy(draft), events
