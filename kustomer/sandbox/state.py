"""The sandbox's in-memory Kustomer org: seeded data, the writes our client makes, and their webhooks."""

import copy
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from . import history, resources
from .config import SandboxConfig
from .conversations import ConversationsMixin
from .drafts import DraftsMixin
from .errors import ApiError, bad_request, not_found, too_many
from .klasses import KlassesMixin
from .outbound import OutboundMixin
from .people import PeopleMixin
from .scenarios import ScenariosMixin, replay_id
from .search import SearchMixin
from .traffic import FaultQueue, MinuteBudget, RequestLog, Stats
from .validation import custom_value_check, patch_value_check
from .webhooks import build_event, iso_now, new_id

__all__ = [
    "ApiError",
    "Events",
    "SandboxConfig",
    "SandboxState",
    "bad_request",
    "custom_value_check",
    "not_found",
    "patch_value_check",
    "replay_id",
    "too_many",
]

Events = list[dict[str, Any]]


class SandboxState(
    ConversationsMixin, DraftsMixin, KlassesMixin, OutboundMixin, PeopleMixin, ScenariosMixin, SearchMixin
):
    """Everything the sandbox knows, guarded by one re-entrant lock; public methods take it themselves."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.reset()
        self.faults.rules.extend(copy.deepcopy(self.config.faults))

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: data, budgets, stats; faults and webhook subscriptions are cleared."""
        with self.lock:
            seed = resources.load_seed(self.config.seed_path)
            self.seed = seed
            self.org: str = self.config.org or seed["org"]["id"]
            self.system_user: str = seed["systemUser"]
            self.agent_user: str = next(u["id"] for u in seed["users"] if u["userType"] == "user")
            self.support_email: str = seed["supportEmail"]
            self.order_klass: str = seed["orderKlass"]
            self.users = {
                u["id"]: resources.user_resource(
                    u["id"], u["name"], u["email"], u["userType"], self.org, u["createdAt"]
                )
                for u in seed["users"]
            }
            machine = self.config.machine_user_id
            self.users[machine] = resources.user_resource(
                machine, "BearScope", "bearscope@sandbox.invalid", "machine", self.org, iso_now()
            )
            self.teams = {t["id"]: resources.team_resource(t, self.org) for t in seed["teams"]}
            self._seed_metadata(seed["metadata"], iso_now())
            self.strict_custom_attributes = self.config.strict_custom_attributes
            # Pagination links are relative paths, as Kustomer's; an origin here makes them absolute.
            self.links_origin = ""
            self.customers = {c["id"]: resources.customer_resource(c, self.org) for c in seed["customers"]}
            self.kobjects = {
                klass: {k["id"]: resources.kobject_resource(klass, k, self.org) for k in items}
                for klass, items in seed["kobjects"].items()
            }
            self.conversations: dict[str, dict[str, Any]] = {}
            self.messages: dict[str, list[dict[str, Any]]] = {}
            self.notes: dict[str, list[dict[str, Any]]] = {}
            self.drafts: dict[str, dict[str, Any]] = {}
            for conv in seed["conversations"]:
                self._seed_conversation(conv)
            self.samples = {
                c["id"]: {
                    "intent": c.get("intent"),
                    "sub_intent": c.get("sub_intent"),
                    "expect": c.get("expect"),
                }
                for c in seed["conversations"]
            }
            self.history_labels: dict[str, dict[str, Any]] = {}
            self.history_counts = {"customers": 0, "orders": 0}
            if self.config.history:
                self._seed_history()
            self.faults = FaultQueue()
            self.stats = Stats()
            self.budget = MinuteBudget(self.config.rate_limit)
            self.search_budgets: dict[str, MinuteBudget] = {}
            self.search_rate_limit = self.config.search_rate_limit
            self.search_page_cap = self.config.search_page_cap
            self.customer_writes: dict[str, MinuteBudget] = {}
            self.latency_ms = self.config.latency_ms
            self.reset_epoch = self.config.reset_epoch
            self.retry_after = self.config.retry_after
            self.subscription: dict[str, str] | None = None
            self.outbound_webhooks: dict[str, dict[str, Any]] = {}
            self.requests = RequestLog(self.config.request_log_limit)
            self.refused = list(self.config.refused)

    def _seed_conversation(self, seed: dict[str, Any]) -> None:
        customer = self.customers[seed["customer"]]
        first_text = next((m["text"] for m in seed["messages"] if m["direction"] == "in"), "")
        conv = resources.conversation_resource(
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
        start = resources.parse_iso(seed["createdAt"])
        messages = []
        for m in seed["messages"]:
            sent_at = resources.iso(start + timedelta(seconds=m["after"]))
            messages.append(
                self._build_message(
                    conv, m["direction"], m["text"], sent_at, m["by"] or self.system_user, id_=m["id"]
                )
            )
        self.conversations[conv["id"]] = conv
        self.messages[conv["id"]] = messages
        self.notes[conv["id"]] = []
        resources.conversation_summarise(conv, messages)
        attrs = conv["attributes"]
        attrs["updatedAt"] = attrs["modifiedAt"] = attrs.get("lastMessageAt", seed["createdAt"])
        if seed["status"] != "open":
            ended = resources.iso(resources.parse_iso(attrs["updatedAt"]) + timedelta(minutes=10))
            authors = [m["by"] for m in seed["messages"] if m["by"]]
            self._apply_status(conv, seed["status"], ended, authors[-1] if authors else self.agent_user)
            attrs["assignedUsers"] = sorted(set(authors))

    def search_budget(self, api_key: str) -> MinuteBudget:
        """The search budget of one API key (lock held by the caller), at the current limit."""
        budget = self.search_budgets.setdefault(api_key, MinuteBudget(self.search_rate_limit))
        budget.limit = self.search_rate_limit
        return budget

    def request_log(self) -> dict[str, Any]:
        """The /v1/ requests since the last reset, as GET /_sandbox/requests shows them."""
        with self.lock:
            return copy.deepcopy(self.requests.as_dict())

    def request_log_reset(self) -> None:
        with self.lock:
            self.requests = RequestLog(self.config.request_log_limit)

    def _seed_history(self) -> None:
        """Past conversations, quietly (no webhooks), handled by the seeded agents of each team."""
        teams = {
            team["attributes"]["name"]: (
                team["id"],
                [
                    (u, self.users[u]["attributes"]["name"].split(" ")[0])
                    for u in team["attributes"]["members"]
                ],
            )
            for team in self.teams.values()
        }
        past = history.generate(
            self.config.history, seed=self.config.history_seed, now=datetime.now(UTC), teams=teams
        )
        for customer in past.customers:
            self.customers[customer["id"]] = resources.customer_resource(customer, self.org)
        orders = self.kobjects.setdefault(self.order_klass, {})
        for order in past.orders:
            orders[order["id"]] = resources.kobject_resource(self.order_klass, order, self.org)
        for conv in past.conversations:
            self._seed_conversation(conv)
            self.conversations[conv["id"]]["attributes"].update(
                {key: conv[key] for key in ("assignedUsers", "assignedTeams", "custom", "rev")}
            )
        self.history_labels = past.labels
        self.history_counts = {"customers": len(past.customers), "orders": len(past.orders)}

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
        phones = self.customers[customer_id]["attributes"].get("phones") or []
        if channel == "sms" and direction == "in" and phones:
            meta.setdefault("from", phones[0]["phone"])
        return resources.message_resource(
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
        conv["relationships"]["modifiedBy"] = resources.rel("user", author, f"/v1/users/{author}")

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
        resources.conversation_summarise(conv, messages)
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
