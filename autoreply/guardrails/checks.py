"""The checks, in the order they run; Kustomer is asked only once every local check has passed."""

import copy
import re
from collections.abc import Callable
from decimal import Decimal

from bearscope.pii.finders import phone_key
from classification.models import Classification, ClassifierSettings, Sentiment, TriageReview
from kustomer.client import KustomerClient
from kustomer.models import Message
from kustomer.payloads import (
    customer_verified_contacts,
    email_headers,
    email_sender,
    message_is_outbound,
    sms_sender_phone,
)

from ..models import (
    AutoReply,
    AutoReplyPolicy,
    AutoReplySettings,
    Escalation,
    Mode,
    OrderMapping,
    ReplyTemplate,
)
from ..orders import OrderCheck, order_check
from ..reasons import BlockReason, Check
from ..rendering import TemplateError, template_render
from .chain import Chain, Context, Outcome, Verdict

NO_REPLY_SENDER = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?|notifications?)\b",
    re.IGNORECASE,
)
BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
LIST_HEADERS = {"list-id", "list-unsubscribe", "x-autoreply", "x-autorespond", "x-auto-response-suppression"}


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


def automated_reason(message: Message | None) -> str:
    """Why the message looks sent by a machine (RFC 3834, no-reply sender, bulk/list mail); empty if not."""
    if message is None:
        return ""
    headers = email_headers(message.meta)
    auto_submitted = headers.get("auto-submitted") or headers.get("autosubmitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if headers.get("precedence") in BULK_PRECEDENCE:
        return f"Precedence: {headers['precedence']}"
    present = sorted(LIST_HEADERS & headers.keys())
    if present:
        return f"{present[0]} header"
    sender = email_sender(message.meta)
    if NO_REPLY_SENDER.match(sender.split("@", 1)[0]):
        return f"no-reply sender {sender}"
    return ""


# --- local checks: all run, each recorded ------------------------------------------------------


def switch(ctx: Context) -> Verdict:
    on = ctx.config.enabled
    return Verdict(on, "auto-replies are on" if on else "the global switch is off")


def _review_words(review: TriageReview) -> str:
    return "confirmed in triage" if review.agreed else "corrected in triage"


def routed(ctx: Context) -> Verdict:
    if ctx.review is not None:
        return Verdict(True, f"{_review_words(ctx.review)}: a person's intent counts as routed")
    classification = ctx.classification
    if classification.route == Classification.Route.AUTO:
        return Verdict(True, "routed automatically")
    return Verdict(False, f"in triage ({classification.route_reason or 'no reason'})")


def intent(ctx: Context) -> Verdict:
    if ctx.policy is None:
        return Verdict(False, "the intent is not whitelisted (no policy)")
    if ctx.policy.mode == Mode.OFF:
        return Verdict(False, f"the policy for {ctx.policy} is off")
    return Verdict(True, f"policy {ctx.policy} in {ctx.policy.mode} mode")


def confidence(ctx: Context) -> Verdict:
    if ctx.review is not None:
        return Verdict(True, f"{_review_words(ctx.review)}: a person's intent counts as certain")
    threshold = ctx.policy.threshold if ctx.policy else Decimal("1")
    classification = ctx.classification
    # A policy on a sub-intent needs the sub-intent to be right too: the local classifier says how
    # likely that is separately (intent and sub-intent both right), never above the intent's.
    if ctx.policy and ctx.policy.sub_intent_id and classification.sub_intent_confidence is not None:
        what, value = "sub-intent confidence", classification.sub_intent_confidence
    else:
        what, value = "confidence", classification.confidence
    return Verdict(
        value is not None and Decimal(str(value)) >= threshold,
        f"{what} {value if value is not None else 'none'} against threshold {threshold}",
    )


def channel(ctx: Context) -> Verdict:
    name = ctx.outcome.channel
    supported = name.lower() in ctx.config.channel_list()
    return Verdict(supported, f"channel {name or 'unknown'} {'is' if supported else 'is not'} supported")


def sentiment(ctx: Context) -> Verdict:
    mood = ctx.classification.sentiment
    if mood != Sentiment.NEGATIVE:
        return Verdict(True, f"the customer's message reads as {mood or 'unknown'}")
    if ctx.config.block_negative_sentiment:
        return Verdict(False, "the customer's message reads as negative: a person answers")
    return Verdict(True, "the customer's message reads as negative, but that guardrail is off")


def language(ctx: Context) -> Verdict:
    if ctx.policy is None:
        return Verdict(False, "no policy, so no reply template")
    template, code = ctx.policy.template, ctx.classification.language
    if not code:
        return Verdict(True, f"language unknown: template {template.key} in its own ({template.language})")
    if code == template.language or template.versions.filter(language=code).exists():
        return Verdict(True, f"template {template.key} has a version in {code}")
    return Verdict(False, f"template {template.key} has no version in the customer's language ({code})")


def first_contact(ctx: Context) -> Verdict:
    conversation = ctx.conversation
    if AutoReply.objects.filter(conversation=conversation).exists():
        return Verdict(False, "this conversation already had an auto-reply")
    if Escalation.objects.filter(conversation=conversation).exists():
        return Verdict(False, "this conversation was escalated to a person")
    if conversation.messages.filter(direction=Message.Direction.OUT).exists():
        return Verdict(False, "someone already replied in this conversation")
    return Verdict(True, "no reply yet in BearScope's copy of the conversation")


def automated_sender(ctx: Context) -> Verdict:
    why = automated_reason(ctx.inbound)
    return Verdict(not why, why or "the message was written by a person")


# --- remote checks: in order, each only once everything before it passed -----------------------


def first_contact_kustomer(ctx: Context) -> Verdict:
    replied = sum(
        message_is_outbound(m) for m in ctx.client.conversation_messages(ctx.conversation.kustomer_id)
    )
    if replied:
        return Verdict(False, f"{replied} repl{'y' if replied == 1 else 'ies'} already in Kustomer")
    return Verdict(True, "no reply yet in Kustomer")


def data(ctx: Context) -> Verdict:
    if ctx.policy.data_check != AutoReplyPolicy.DataCheck.ORDER:
        return Verdict(True, "this policy has no data check")
    customer = ctx.conversation.customer
    checked = order_check(
        client=ctx.client,
        customer_id=customer.kustomer_id if customer else "",
        order_number=(ctx.classification.entities or {}).get("order_number"),
        mapping=OrderMapping.load(),
    )
    if not checked.passed:
        return Verdict(False, checked.reason, checked.code)
    verified = identity_verified(ctx, checked)
    if verified.passed:
        ctx.outcome.facts = checked.facts
        ctx.values = checked.facts.values()
    return verified


def identity_verified(ctx: Context, checked: OrderCheck) -> Verdict:
    """On a channel where identity is only claimed (chat, SMS), the matching email or phone must be verified.

    Anyone can type someone else's email into a chat widget; only Kustomer's verified flag on the
    customer record says the person is who they claim (kustomer.payloads.customer_verified_contacts).
    """
    channel_name = ctx.outcome.channel.lower()
    if channel_name not in ctx.config.claimed_identity_list():
        return Verdict(True, checked.reason)
    emails, phones = customer_verified_contacts(checked.customer)
    if checked.email in emails:
        return Verdict(True, f"{checked.reason}; the order's email is verified")
    # On SMS the number the message came from counts too, when the customer record has it verified;
    # both read as E.164 in the team's phone region, as redaction reads them.
    if channel_name == "sms" and ctx.inbound:
        region = ClassifierSettings.load().phone_region or "US"
        sender = phone_key(phone=sms_sender_phone(ctx.inbound.meta), region=region)
        if sender and sender in {phone_key(phone=phone, region=region) for phone in phones}:
            return Verdict(True, f"{checked.reason}; the phone the message came from is verified")
    what = "email or the sender's phone" if channel_name == "sms" else "email"
    code = BlockReason.IDENTITY_UNVERIFIED
    return Verdict(
        False, f"{code}: on {channel_name} the customer's {what} must be verified in Kustomer", code
    )


def _variant(template: ReplyTemplate, language_code: str, channel_name: str) -> tuple[str, str]:
    """The version in the customer's language; channel versions exist in the template's own language only."""
    if language_code and language_code != template.language:
        source = template.versions.get(language=language_code)
    else:
        source = template.variants.filter(channel=channel_name).first() or template
    return source.subject, source.body


def template(ctx: Context) -> Verdict:
    outcome, template = ctx.outcome, ctx.policy.template
    escalation_line = ctx.config.escalation_line.strip()
    if not escalation_line:
        return Verdict(False, "no escalation line in the auto-reply settings: every reply needs one")
    subject, body = _variant(template, ctx.classification.language, outcome.channel)
    try:
        declared = template.variable_list()
        outcome.subject = template_render(subject, declared=declared, values=ctx.values)[:255]
        rendered = template_render(body, declared=declared, values=ctx.values).rstrip()
        outcome.body = f"{rendered}\n\n{escalation_line}"
    except TemplateError as exc:
        outcome.subject = outcome.body = ""
        return Verdict(False, f"template {template.key}: {exc}")
    return Verdict(True, f"template {template.key} rendered with every variable")


CheckFunction = Callable[[Context], Verdict]
LOCAL_CHECKS: tuple[tuple[Check, CheckFunction], ...] = (
    (Check.SWITCH, switch),
    (Check.CLASSIFICATION, routed),
    (Check.INTENT, intent),
    (Check.CONFIDENCE, confidence),
    (Check.CHANNEL, channel),
    (Check.SENTIMENT, sentiment),
    (Check.LANGUAGE, language),
    (Check.FIRST_CONTACT, first_contact),
    (Check.AUTOMATED_SENDER, automated_sender),
)
REMOTE_CHECKS: tuple[tuple[Check, CheckFunction], ...] = (
    (Check.FIRST_CONTACT_KUSTOMER, first_contact_kustomer),
    (Check.DATA, data),
    (Check.TEMPLATE, template),
)


def _inbound(classification: Classification) -> Message | None:
    return (
        classification.conversation.messages.filter(direction=Message.Direction.IN)
        .order_by("sent_at", "pk")
        .first()
    )


def reviewed(classification: Classification, review: TriageReview) -> Classification:
    """The classification as the reviewer left it (unsaved): their intent, routed and certain."""
    values = copy.copy(classification)
    values.intent, values.sub_intent = review.intent, review.sub_intent
    values.priority, values.complexity = review.priority, review.complexity
    values.route, values.route_reason, values.confidence = Classification.Route.AUTO, "", 1.0
    return values


def guardrails_run(
    *,
    classification: Classification,
    config: AutoReplySettings,
    client: KustomerClient,
    review: TriageReview | None = None,
) -> Outcome:
    """Every check with its verdict and reason: the local ones all, then Kustomer's one by one.

    With a review, the chain runs on the reviewer's values; every other check applies as usual."""
    if review is not None:
        classification = reviewed(classification, review)
    policy = policy_for(classification)
    inbound = _inbound(classification)
    conversation = classification.conversation
    outcome = Outcome(chain=Chain(), policy=policy, mode=policy.mode if policy else Mode.OFF)
    outcome.channel = (inbound.channel if inbound and inbound.channel else "") or next(
        iter(conversation.channels or []), ""
    )
    ctx = Context(
        classification=classification,
        config=config,
        client=client,
        policy=policy,
        inbound=inbound,
        outcome=outcome,
        review=review,
    )
    for check, run in LOCAL_CHECKS:
        outcome.chain.record(check, run(ctx))
    for position, (check, run) in enumerate(REMOTE_CHECKS):
        if outcome.chain.blocked_by:
            outcome.chain.skip(*(later for later, _ in REMOTE_CHECKS[position:]))
            break
        outcome.chain.record(check, run(ctx))
    return outcome
