"""What each auto-reply policy would have done with a backtest's predictions: nothing is ever sent.

The guardrails that need no network are replayed as if auto-replies were switched on and every
policy were live: routed automatically, confident enough for the policy, channel supported,
written by a person. First contact is taken as true (a past conversation is replayed as of its
first message). The order check reads Kustomer's orders, which BearScope does not copy: a reply
that passes every other check and whose policy checks the order is counted as "order not verified",
with whether the message names an order number.
"""

from decimal import Decimal

from autoreply.guardrails.checks import automated_reason
from autoreply.models import AutoReplyPolicy, AutoReplySettings
from autoreply.reasons import BlockReason
from kustomer.models import Message

from ..models import Backtest, BacktestItem


def _policies() -> dict[tuple[str, str], AutoReplyPolicy]:
    policies = AutoReplyPolicy.objects.select_related("intent", "sub_intent")
    return {(p.intent.key, p.sub_intent.key if p.sub_intent else ""): p for p in policies}


def _first_inbound(conversation_pks: list[int]) -> dict[int, Message]:
    firsts: dict[int, Message] = {}
    inbound = Message.objects.filter(conversation_id__in=conversation_pks, direction=Message.Direction.IN)
    for message in inbound.order_by("conversation_id", "sent_at", "pk"):
        firsts.setdefault(message.conversation_id, message)
    return firsts


def decision(
    item: BacktestItem, policy: AutoReplyPolicy, inbound: Message | None, channels: list[str]
) -> dict:
    """The policy's decision on one prediction: the first check that blocks, or a reply."""
    answer = {"policy": str(policy), "blocked": "", "order_unverified": False}
    confidence = item.sub_intent_confidence if policy.sub_intent_id else item.confidence
    channel = (inbound.channel if inbound and inbound.channel else "") or next(
        iter(item.conversation.channels or []), ""
    )
    if item.route != "auto":
        answer["blocked"] = BlockReason.CLASSIFICATION.value
    elif confidence is None or Decimal(str(confidence)) < policy.threshold:
        answer["blocked"] = BlockReason.CONFIDENCE.value
    elif channel.lower() not in channels:
        answer["blocked"] = BlockReason.CHANNEL.value
    elif automated_reason(inbound):
        answer["blocked"] = BlockReason.AUTOMATED_SENDER.value
    elif policy.data_check == AutoReplyPolicy.DataCheck.ORDER:
        answer["order_unverified"] = True
        answer["order_number"] = bool((item.entities or {}).get("order_number"))
    return answer


def autoreply_decisions(*, backtest: Backtest) -> int:
    """Store each prediction's policy decision on its row; returns how many rows a policy covered."""
    policies = _policies()
    channels = AutoReplySettings.load().channel_list()
    items = list(backtest.items.filter(done=True).exclude(intent="").select_related("conversation"))
    firsts = _first_inbound([item.conversation_id for item in items])
    covered = []
    for item in items:
        policy = policies.get((item.intent, item.sub_intent)) or policies.get((item.intent, ""))
        item.autoreply = decision(item, policy, firsts.get(item.conversation_id), channels) if policy else {}
        covered.append(item)
    BacktestItem.objects.bulk_update(covered, ["autoreply"], batch_size=500)
    return sum(1 for item in covered if item.autoreply)
