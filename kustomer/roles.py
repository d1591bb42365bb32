"""The Kustomer roles BearScope's API key needs, per endpoint family: the read that probes it, and why."""

from dataclasses import dataclass

ROLE_PREFIX = "org.permission."


@dataclass(frozen=True)
class Role:
    """An endpoint family BearScope uses: the role it reads with (probed), those it writes with, and why."""

    area: str
    read: str
    probe: str
    needed_for: str
    writes: tuple[str, ...] = ()

    @property
    def roles(self) -> list[str]:
        return [ROLE_PREFIX + family for family in (self.read, *self.writes)]


ROLES = (
    Role(
        "Conversations",
        "conversation.read",
        "GET /v1/conversations/{conversation}",
        "read a conversation, and write the classification back (custom attributes, priority) for "
        "Kustomer's routing rules",
        ("conversation.update",),
    ),
    Role(
        "Messages",
        "message.read",
        "GET /v1/conversations/{conversation}/messages",
        "read a whole thread: messages a webhook missed, long emails in full, what was already answered",
    ),
    Role(
        "Customers",
        "customer.read",
        "GET /v1/customers/{customer}",
        "read the customer's name and emails: names are redacted before text goes to Claude, and an "
        "order must be the customer's before auto-reply speaks of it",
    ),
    Role(
        "Custom objects (KObjects)",
        "kobject.read",
        "GET /v1/klasses/order/externalId=bearscope-check",
        "read the customer's orders for auto-reply's order check",
    ),
    Role(
        "Notes",
        "note.read",
        "GET /v1/conversations/{conversation}/notes",
        "leave internal notes (the reply shadow mode would have sent, the escalation note), read first "
        "so that none is left twice",
        ("note.create",),
    ),
    Role(
        "Drafts",
        "draft.read",
        "GET /v1/conversations/{conversation}/drafts",
        "stage a reply for an agent (draft mode) or send it (live mode); reading drafts keeps a reply "
        "from going twice",
        ("draft.create", "draft.update"),
    ),
    Role(
        "Attribute definitions",
        "metadata.read",
        "GET /v1/metadata/conversation",
        "check and create the custom attributes BearScope writes on conversations",
        ("metadata.update",),
    ),
    Role(
        "Outbound webhooks",
        "outbound_webhook.read",
        "GET /v1/outbound-webhooks",
        "find and register the webhook that tells BearScope about conversations and messages",
        ("outbound_webhook.create",),
    ),
    Role("Users", "user.read", "GET /v1/users?pageSize=1", "show agents by name on pages and in exports"),
    Role("Teams", "team.read", "GET /v1/teams?pageSize=1", "show teams by name on pages and in exports"),
    Role(
        "Search",
        "search.create",
        "POST /v1/customers/search?pageSize=1",
        "import the team's history (backtests, the local classifier)",
    ),
)
