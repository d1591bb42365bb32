"""The guardrail chain: every check that stands between a classification and a reply, in order."""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from classification.models import Classification
from kustomer.client import KustomerClient
from kustomer.models import Message
from kustomer.payloads import as_dict

from .models import (
    AutoReply,
    AutoReplyPolicy,
    AutoReplySettings,
    Escalation,
    Mode,
    OrderMapping,
    ReplyTemplate,
)
from .orders import OrderFacts, order_check
from .rendering import TemplateError, template_render

SKIPPED = "not run: an earlier check blocked"
# The checks in the support team's words, for the review pages and the admin.
CHECK_LABELS = {
    "switch": "Auto-replies switched on",
    "classification": "Classified automatically (not waiting in triage)",
    "intent": "Intent allowed to auto-reply",
    "confidence": "Confident enough",
    "channel": "Channel supported",
    "first_contact": "First contact (no reply yet)",
    "automated_sender": "Written by a person, not an auto-responder",
    "first_contact_kustomer": "No reply yet in Kustomer",
    "data": "Order found and belongs to the customer",
    "template": "Reply complete",
    "kustomer": "Kustomer reachable",
}
NO_REPLY_SENDER = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?|notifications?)\b",
    re.IGNORECASE,
)
BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
LIST_HEADERS = {"list-id", "list-unsubscribe", "x-autoreply", "x-autorespond", "x-auto-response-suppression"}


@dataclass
class Chain:
    """The checks run so far; the first failure names the decision's reason."""

    checks: list[dict] = field(default_factory=list)

    def record(self, check: str, passed: bool | None, reason: str) -> bool:
        self.checks.append({"check": check, "passed": passed, "reason": reason})
        return bool(passed)

    @property
    def blocked_by(self) -> str:
        failed = next((c for c in self.checks if c["passed"] is False), None)
        if failed is None:
            return ""
        return failed["reason"].split(":", 1)[0] if failed["check"] == "data" else failed["check"]

    def skip(self, *checks: str) -> None:
        for check in checks:
            self.record(check, None, SKIPPED)


@dataclass
class Outcome:
    chain: Chain
    policy: AutoReplyPolicy | None = None
    mode: str = Mode.OFF
    channel: str = ""
    subject: str = ""
    body: str = ""
    facts: OrderFacts | None = None

    @property
    def reply(self) -> bool:
        return not self.chain.blocked_by


def policy_for(classification: Classification) -> AutoReplyPolicy | None:
    """The sub-intent's own policy, else the intent's."""
    policies = AutoReplyPolicy.objects.select_related("template", "intent", "sub_intent")
    if classification.intent_id is None:
        return None
    if classification.sub_intent_id:
        own = policies.filter(
            intent_id=classification.intent_id, sub_intent_id=classification.sub_intent_id
        ).first()
        if own:
            return own
    return policies.filter(intent_id=classification.intent_id, sub_intent__isnull=True).first()


def _headers(meta: dict) -> dict[str, str]:
    """Email headers as lower-case names, whether Kustomer sent them as an object or a list."""
    raw = meta.get("headers")
    pairs: list[tuple] = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(as_dict(h).get("name"), as_dict(h).get("value")) for h in raw]
    pairs += [(k, v) for k, v in meta.items() if isinstance(v, str | bool)]
    return {str(k).lower(): str(v).strip().lower() for k, v in pairs if k and v is not None}


def _sender(meta: dict) -> str:
    sender = meta.get("from")
    if isinstance(sender, dict):
        sender = sender.get("email")
    elif isinstance(sender, list) and sender:
        sender = as_dict(sender[0]).get("email")
    return str(sender or "").strip().lower()


def automated_reason(message: Message | None) -> str:
    """Why the message looks sent by a machine (RFC 3834, no-reply sender, bulk/list mail); empty if not."""
    if message is None:
        return ""
    meta = message.meta if isinstance(message.meta, dict) else {}
    headers = _headers(meta)
    auto_submitted = headers.get("auto-submitted") or headers.get("autosubmitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if headers.get("precedence") in BULK_PRECEDENCE:
        return f"Precedence: {headers['precedence']}"
    present = sorted(LIST_HEADERS & headers.keys())
    if present:
        return f"{present[0]} header"
    local_part = _sender(meta).split("@", 1)[0]
    if local_part and NO_REPLY_SENDER.match(local_part):
        return f"no-reply sender {_sender(meta)}"
    return ""


def _inbound(classification: Classification) -> Message | None:
    return (
        classification.conversation.messages.filter(direction=Message.Direction.IN)
        .order_by("sent_at", "pk")
        .first()
    )


def _variant(template: ReplyTemplate, channel: str) -> tuple[str, str]:
    variant = template.variants.filter(channel=channel).first()
    source = variant or template
    return source.subject, source.body


def guardrails_run(
    *, classification: Classification, config: AutoReplySettings, client: KustomerClient
) -> Outcome:
    """Every check with its verdict and reason; Kustomer is asked only once the local checks pass."""
    chain = Chain()
    outcome = Outcome(chain=chain)
    conversation = classification.conversation
    policy = policy_for(classification)
    outcome.policy = policy
    outcome.mode = policy.mode if policy else Mode.OFF
    inbound = _inbound(classification)
    outcome.channel = (inbound.channel if inbound and inbound.channel else "") or next(
        iter(conversation.channels or []), ""
    )

    chain.record(
        "switch", config.enabled, "auto-replies are on" if config.enabled else "the global switch is off"
    )
    routed_auto = classification.route == Classification.Route.AUTO
    chain.record(
        "classification",
        routed_auto,
        "routed automatically"
        if routed_auto
        else f"in triage ({classification.route_reason or 'no reason'})",
    )
    if policy is None:
        chain.record("intent", False, "the intent is not whitelisted (no policy)")
    elif policy.mode == Mode.OFF:
        chain.record("intent", False, f"the policy for {policy} is off")
    else:
        chain.record("intent", True, f"policy {policy} in {policy.mode} mode")
    threshold = policy.threshold if policy else Decimal("1")
    confidence = classification.confidence
    chain.record(
        "confidence",
        confidence is not None and Decimal(str(confidence)) >= threshold,
        f"confidence {confidence if confidence is not None else 'none'} against threshold {threshold}",
    )
    supported = outcome.channel.lower() in config.channel_list()
    chain.record(
        "channel",
        supported,
        f"channel {outcome.channel or 'unknown'} {'is' if supported else 'is not'} supported",
    )
    if AutoReply.objects.filter(conversation=conversation).exists():
        chain.record("first_contact", False, "this conversation already had an auto-reply")
    elif Escalation.objects.filter(conversation=conversation).exists():
        chain.record("first_contact", False, "this conversation was escalated to a person")
    elif conversation.messages.filter(direction=Message.Direction.OUT).exists():
        chain.record("first_contact", False, "someone already replied in this conversation")
    else:
        chain.record("first_contact", True, "no reply yet in BearScope's copy of the conversation")
    why = automated_reason(inbound)
    chain.record("automated_sender", not why, why or "the message was written by a person")
    if chain.blocked_by:
        chain.skip("first_contact_kustomer", "data", "template")
        return outcome

    replied = [
        m
        for m in client.conversation_messages(conversation.kustomer_id)
        if as_dict(m.get("attributes")).get("direction") == "out"
    ]
    if not chain.record(
        "first_contact_kustomer",
        not replied,
        f"{len(replied)} repl{'y' if len(replied) == 1 else 'ies'} already in Kustomer"
        if replied
        else "no reply yet in Kustomer",
    ):
        chain.skip("data", "template")
        return outcome

    values: dict[str, str | None] = {}
    if policy.data_check == AutoReplyPolicy.DataCheck.ORDER:
        checked = order_check(
            client=client,
            customer_id=conversation.customer.kustomer_id if conversation.customer else "",
            order_number=(classification.entities or {}).get("order_number"),
            mapping=OrderMapping.load(),
        )
        chain.record("data", checked.passed, checked.reason)
        if not checked.passed:
            chain.skip("template")
            return outcome
        outcome.facts = checked.facts
        values = checked.facts.values()
    else:
        chain.record("data", True, "this policy has no data check")

    template = policy.template
    if not config.escalation_line.strip():
        chain.record(
            "template", False, "no escalation line in the auto-reply settings: every reply needs one"
        )
        return outcome
    subject, body = _variant(template, outcome.channel)
    try:
        declared = template.variable_list()
        outcome.subject = template_render(subject, declared=declared, values=values)[:255]
        rendered = template_render(body, declared=declared, values=values).rstrip()
        outcome.body = f"{rendered}\n\n{config.escalation_line.strip()}"
    except TemplateError as exc:
        chain.record("template", False, f"template {template.key}: {exc}")
        outcome.subject = outcome.body = ""
        return outcome
    chain.record("template", True, f"template {template.key} rendered with every variable")
    return outcome
