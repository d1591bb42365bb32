"""Kustomer's /v1/ subset: the route table and one thin handler per route (mixed into SandboxApp)."""

from typing import Any

from .outbound import EVENTS
from .routing import LARGE_PAGE_SIZE, Events, Handler, paginate

# Search needs this role and spends the API key's search budget too.
SEARCH_FAMILY = "search.create"


class ApiRoutes:
    """Handlers answer (status, JSON, events to deliver); SandboxApp does auth, budgets and faults."""

    def api_route_table(self) -> list[tuple[str, str, Handler, str | None]]:
        """Method, path template, handler, and the role family it needs (None: any valid key)."""
        return [
            ("GET", "/v1/users/current", self.user_current, None),
            ("GET", "/v1/users", self.users_list, "user.read"),
            ("GET", "/v1/users/{id}", self.user_get, "user.read"),
            ("GET", "/v1/teams", self.teams_list, "team.read"),
            ("GET", "/v1/teams/{id}", self.team_get, "team.read"),
            ("GET", "/v1/metadata/{resource}", self.metadata_get, "metadata.read"),
            ("PUT", "/v1/metadata/{resource}", self.metadata_put, "metadata.update"),
            ("GET", "/v1/outbound-webhooks", self.outbound_webhooks_list, "outbound_webhook.read"),
            ("POST", "/v1/outbound-webhooks", self.outbound_webhook_create, "outbound_webhook.create"),
            ("GET", "/v1/outbound-webhooks/events", self.outbound_webhook_events, "outbound_webhook.read"),
            ("DELETE", "/v1/outbound-webhooks/{id}", self.outbound_webhook_delete, "outbound_webhook.delete"),
            ("GET", "/v1/conversations/{id}", self.conversation_get, "conversation.read"),
            ("PATCH", "/v1/conversations/{id}", self.conversation_patch, "conversation.update"),
            ("GET", "/v1/conversations/{id}/messages", self.messages_list, "message.read"),
            ("POST", "/v1/conversations/{id}/messages", self.message_create, "message.create"),
            ("GET", "/v1/conversations/{id}/notes", self.notes_list, "note.read"),
            ("POST", "/v1/conversations/{id}/notes", self.note_create, "note.create"),
            ("GET", "/v1/conversations/{id}/drafts", self.drafts_list, "draft.read"),
            ("GET", "/v1/messages/{id}", self.message_get, "message.read"),
            ("GET", "/v1/customers/{id}", self.customer_get, "customer.read"),
            ("POST", "/v1/customers/search", self.search, SEARCH_FAMILY),
            ("GET", "/v1/customers/{id}/klasses/{klass}", self.customer_kobjects, "kobject.read"),
            ("POST", "/v1/customers/{id}/drafts", self.draft_create, "draft.create"),
            (
                "GET",
                "/v1/klasses/{klass}/externalId={externalId}",
                self.kobject_by_external_id,
                "kobject.read",
            ),
            ("PUT", "/v1/drafts/{id}", self.draft_update, "draft.update"),
        ]

    def user_current(self, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.user_current()}, []

    def users_list(self, query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.people_list("user"), path, query, LARGE_PAGE_SIZE), []

    def user_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.person_get("user", id)}, []

    def teams_list(self, query: dict[str, list[str]], path: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.people_list("team"), path, query, LARGE_PAGE_SIZE), []

    def team_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.person_get("team", id)}, []

    def metadata_get(self, resource: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.metadata_get(resource)}, []

    def metadata_put(self, resource: str, body: Any, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.metadata_put(resource, body)}, []

    def outbound_webhooks_list(
        self, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.outbound_webhooks_list(), path, query), []

    def outbound_webhook_create(self, body: Any, **_: Any) -> tuple[int, Any, Events]:
        return 201, {"data": self.state.outbound_webhook_create(body)}, []

    def outbound_webhook_events(self, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"events": list(EVENTS)}, []

    def outbound_webhook_delete(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        self.state.outbound_webhook_delete(id)
        return 204, None, []

    def search(self, query: dict[str, list[str]], body: Any, path: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, self.state.search(body, path, query), []

    def conversation_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.conversation_get(id)}, []

    def conversation_patch(self, id: str, body: Any, **_: Any) -> tuple[int, Any, Events]:
        conversation, events = self.state.conversation_patch(id, body)
        return 200, {"data": conversation}, events

    def messages_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.messages_list(id), path, query), []

    def message_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        message, events = self.state.message_create(id, body, now)
        return 201, {"data": message}, events

    def message_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.message_get(id)}, []

    def notes_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.notes_list(id), path, query), []

    def note_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        return 201, {"data": self.state.note_create(id, body, now)}, []

    def drafts_list(
        self, id: str, query: dict[str, list[str]], path: str, **_: Any
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.drafts_list(id), path, query), []

    def customer_get(self, id: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.customer_get(id)}, []

    def customer_kobjects(
        self,
        id: str,
        klass: str,
        query: dict[str, list[str]],
        path: str,
        **_: Any,
    ) -> tuple[int, Any, Events]:
        return 200, paginate(self.state.customer_kobjects(id, klass), path, query), []

    def kobject_by_external_id(self, klass: str, externalId: str, **_: Any) -> tuple[int, Any, Events]:
        return 200, {"data": self.state.kobject_by_external_id(klass, externalId)}, []

    def draft_create(self, id: str, body: Any, now: float, **_: Any) -> tuple[int, Any, Events]:
        draft, events = self.state.draft_create(id, body, now)
        return 201, {"data": draft}, events

    def draft_update(self, id: str, body: Any, **_: Any) -> tuple[int, Any, Events]:
        draft, events = self.state.draft_update(id, body)
        return 200, {"data": draft}, events
