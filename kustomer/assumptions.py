"""Kustomer API behaviour its docs do not confirm: the one function that holds each, and a probe."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models.functions import Length
from django.utils.module_loading import import_string

from .client import KustomerClient, client_checking
from .exceptions import KustomerAuthError, KustomerError
from .models import Conversation, Customer, Message
from .payloads import attributes, message_text_parts, related_id

# Kustomer cuts a message's `preview` at 256 characters; a stored body that long may have been cut.
PREVIEW_CHARS = 256
# The org budget counts requests per minute: a reset further off than this is misread.
LONGEST_SANE_RESET = 120


class Verdict(StrEnum):
    HOLDS = "holds"
    FAILS = "does not hold"
    UNKNOWN = "could not tell"
    NOT_PROBED = "not probed"


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    detail: str


@dataclass(frozen=True)
class Assumption:
    """One assumption: what we believe, the one function (dotted path) that acts on it, and its probe.

    A probe reads from the org and writes nothing; where none can, `note` says why.
    """

    statement: str
    function: str
    note: str  # what the probe reads, or why there is none
    probe: Callable[["Assumption", KustomerClient], Finding] | None = None

    @property
    def text(self) -> str:
        """The statement for a web page: Markdown's backticks left out."""
        return self.statement.replace("`", "")

    def held_by(self):
        """The function (or constant) itself, found by its dotted path: pipeline refactors move them."""
        return import_string(self.function)

    def check(self, client: KustomerClient) -> Finding:
        if self.probe is None:
            return Finding(Verdict.NOT_PROBED, self.note)
        try:
            return self.probe(self, client)
        except KustomerAuthError as exc:
            return Finding(Verdict.UNKNOWN, f"The key may not read what the probe needs: {exc}.")
        except KustomerError as exc:
            return Finding(Verdict.UNKNOWN, f"Kustomer did not answer the probe: {exc}.")


def _ratelimit_reset(assumption: Assumption, client: KustomerClient) -> Finding:
    client.current_user_get()
    value = client.last_headers.get("x-ratelimit-reset")
    if value is None:
        return Finding(Verdict.UNKNOWN, "GET /v1/users/current answered without x-ratelimit-reset.")
    wait = assumption.held_by()(value)
    if wait is None:
        return Finding(Verdict.FAILS, f"x-ratelimit-reset was {value!r}, not a number.")
    kind = "epoch seconds" if float(value) > 1e9 else "seconds to wait"
    if wait > LONGEST_SANE_RESET:
        return Finding(
            Verdict.FAILS,
            f"x-ratelimit-reset {value!r} read as {kind} is a {wait:.0f} s wait, longer than the minute "
            "the budget counts: Kustomer sends another format.",
        )
    return Finding(Verdict.HOLDS, f"x-ratelimit-reset {value!r} on a GET, read as {kind}: {wait:.0f} s.")


def _message_body(assumption: Assumption, client: KustomerClient) -> Finding:
    long = Message.objects.annotate(chars=Length("body")).filter(chars__gte=PREVIEW_CHARS).order_by("-pk")
    message = long.first()
    if message is None:
        return Finding(
            Verdict.NOT_PROBED,
            f"No mirrored message has {PREVIEW_CHARS} characters or more yet; probed once one has.",
        )
    preview, body = message_text_parts(client.get_data(f"/v1/messages/{message.kustomer_id}"))
    where = f"Message {message.kustomer_id}"
    if body and len(body) >= len(preview):
        detail = f"{where}: {len(preview)} characters in preview, {len(body)} in meta.body."
        return Finding(Verdict.HOLDS, detail)
    if len(preview) >= PREVIEW_CHARS:
        detail = f"{where} has no meta.body and a {len(preview)}-character preview: long texts may be cut."
        return Finding(Verdict.FAILS, detail)
    return Finding(Verdict.UNKNOWN, f"{where} is short now ({len(preview)} characters) and has no meta.body.")


def _listed_token(assumption: Assumption, client: KustomerClient) -> Finding:
    hooks = list(client.outbound_webhooks_list())
    if not hooks:
        return Finding(Verdict.NOT_PROBED, "No subscription is registered yet.")
    shown = sum(bool(assumption.held_by()(hook)) for hook in hooks)
    if not shown:
        detail = f"None of the {len(hooks)} listed subscriptions shows its token; only a POST answer does."
        return Finding(Verdict.FAILS, detail)
    return Finding(Verdict.HOLDS, f"{shown} of {len(hooks)} listed subscriptions show their token.")


def _verified_flag(assumption: Assumption, client: KustomerClient) -> Finding:
    customer = Customer.objects.order_by("-pk").first()
    if customer is None:
        return Finding(Verdict.NOT_PROBED, "No customer is mirrored yet; probed once one is.")
    attrs = attributes(client.customer_get(customer.kustomer_id))
    entries = [e for key in ("emails", "phones") for e in attrs.get(key) or [] if isinstance(e, dict)]
    where = f"Customer {customer.kustomer_id}"
    if not entries:
        return Finding(Verdict.UNKNOWN, f"{where} has no email or phone to look at.")
    flagged = sum(isinstance(e.get("verified"), bool) for e in entries)
    if not flagged:
        detail = f"{where}: none of its {len(entries)} emails and phones says `verified`, so chat and SMS "
        return Finding(Verdict.FAILS, detail + "auto-replies are all blocked as identity unverified.")
    return Finding(Verdict.HOLDS, f"{where}: {flagged} of {len(entries)} emails and phones say `verified`.")


def _sms_sender(assumption: Assumption, client: KustomerClient) -> Finding:
    message = Message.objects.filter(channel="sms", direction=Message.Direction.IN).order_by("-pk").first()
    if message is None:
        return Finding(Verdict.NOT_PROBED, "No SMS message is mirrored yet; probed once one is.")
    where = f"SMS message {message.kustomer_id}"
    if not assumption.held_by()(message.meta):
        detail = f"{where} has no number in meta.from: SMS replies need a verified email."
        return Finding(Verdict.FAILS, detail)
    return Finding(Verdict.HOLDS, f"{where} carries the sender's number in meta.from.")


def _resource_org(assumption: Assumption, client: KustomerClient) -> Finding:
    conversation = Conversation.objects.order_by("-pk").first()
    if conversation is None:
        return Finding(Verdict.NOT_PROBED, "No conversation is mirrored yet; probed once one is.")
    where = f"GET /v1/conversations/{conversation.kustomer_id}"
    org = related_id(client.conversation_get(conversation.kustomer_id), "org")
    if not org:
        return Finding(
            Verdict.FAILS,
            f"{where} has no relationships.org: imported conversations take KUSTOMER_ORG_ID, so set it.",
        )
    if conversation.org and org != conversation.org:
        return Finding(Verdict.FAILS, f"{where} names org {org}, the mirror has {conversation.org}.")
    return Finding(Verdict.HOLDS, f"{where} names its org ({org}).")


SENDS = "Only a sent draft shows it, and sending one reaches a customer."
ASSUMPTIONS = (
    Assumption(
        "`x-ratelimit-reset` is epoch seconds when above 10^9, else seconds to wait",
        "kustomer.client.ratelimit_reset_seconds",
        "Reads the header on the answer to `GET /v1/users/current`.",
        probe=_ratelimit_reset,
    ),
    Assumption(
        "A long message's full text is in `meta.body` when present, else in `preview`",
        "kustomer.payloads.message_body_text",
        "Reads the newest mirrored message of 256+ characters (`GET /v1/messages/{id}`).",
        probe=_message_body,
    ),
    Assumption(
        "`PATCH /v1/conversations/{id}` merges the `custom` keys sent (we send only ours)",
        "kustomer.client.custom_update_body",
        "It would write to a conversation.",
    ),
    Assumption(
        "`PUT /v1/drafts/{id}` with `sendAt` = now sends the draft at once",
        "kustomer.client.draft_send_body",
        SENDS,
    ),
    Assumption(
        "Some senders sign with the header `X-Kustomer-Signature` (both names are accepted)",
        "kustomer.authentication.SIGNATURE_HEADERS",
        "Only a delivery shows its headers, and intake accepts either name.",
    ),
    Assumption(
        "A message sent from a draft names it in `meta.draftId` (or a `draft` relationship)",
        "kustomer.payloads.message_draft_id",
        SENDS,
    ),
    Assumption(
        'A sent draft leaves the conversation\'s draft list or says `status: "sent"` / `sentAt`',
        "kustomer.payloads.draft_is_sent",
        SENDS,
    ),
    Assumption(
        "An email draft without `to`/`from` goes to the customer from the channel's default address",
        "kustomer.client.email_draft_fields",
        "Staging a draft writes to a conversation.",
    ),
    Assumption(
        "A search stops paging after about 100 pages: long ranges are split into date windows",
        "kustomer.client_search.search_continue",
        "It takes over 100 searches: more than an API key's search budget for a minute.",
    ),
    Assumption(
        "A 404 for a made-up id means the key holds the role (Kustomer checks roles first)",
        "kustomer.connection.role_held",
        "Only a key without the role could show it.",
    ),
    Assumption(
        "A custom attribute with no definition may be stored silently or refused, so definitions come first",
        "kustomer.connection.attributes_to_define",
        "It would write an undefined attribute to a conversation.",
    ),
    Assumption(
        "The list of webhook subscriptions shows each one's `token`",
        "kustomer.payloads.subscription_token",
        "Reads `GET /v1/outbound-webhooks`.",
        probe=_listed_token,
    ),
    Assumption(
        "A customer's confirmed email or phone says `verified: true` on its entry in `emails` / `phones`",
        "kustomer.payloads.customer_verified_contacts",
        "Reads the newest mirrored customer (`GET /v1/customers/{id}`).",
        probe=_verified_flag,
    ),
    Assumption(
        "An SMS message carries the customer's number in `meta.from`",
        "kustomer.payloads.sms_sender_phone",
        "Reads the newest mirrored SMS message (no request).",
        probe=_sms_sender,
    ),
    Assumption(
        "A resource read through the API names its org in `relationships.org` (a webhook: in its `org`)",
        "kustomer.payloads.mirror_org",
        "Reads the newest mirrored conversation (`GET /v1/conversations/{id}`).",
        probe=_resource_org,
    ),
)


def assumptions_probe(*, client: KustomerClient | None = None) -> list[tuple[Assumption, Finding]]:
    """Each assumption with what its probe found against the configured org (reads only)."""
    client = client or client_checking()
    return [(assumption, assumption.check(client)) for assumption in ASSUMPTIONS]


def assumptions_table() -> str:
    """The Markdown table of the docs (docs/connecting-kustomer.md), made from the registry."""
    rows = ["| assumption | function | probe |", "| --- | --- | --- |"]
    for assumption in ASSUMPTIONS:
        held_by = f"`{assumption.function}`"
        note = assumption.note
        probe = note if assumption.probe else f"Not probed: {note[:1].lower()}{note[1:]}"
        rows.append(f"| {assumption.statement} | {held_by} | {probe} |")
    return "\n".join(rows) + "\n"
