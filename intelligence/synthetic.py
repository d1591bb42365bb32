"""Realistic synthetic resolved history for demos and benchmarks: conversations, classifications, analyses."""

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from bearscope.llm import LlmFailure
from classification.models import Classification, ComplexityLevel, Intent, PriorityLevel, TriageReview
from classification.reasons import RouteReason
from kustomer.models import Conversation, Customer, Message

from .metrics import effort_score
from .models import ConversationAnalysis, ResolutionMethod, RootCause

PREFIX = "syn"
CHANNELS = [("email", 0.5), ("chat", 0.3), ("sms", 0.12), ("voice", 0.08)]
TEAMS = ["Customer care", "Returns", "Billing", "Tech support", "VIP"]
FIRST_NAMES = [
    "ana", "ben", "chloe", "dev", "elena", "femi", "grace", "hiro", "isla", "jon", "kira", "liam", "maya",
    "nina", "omar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "victor", "wen", "xavi", "yara", "zoe",
    "alex", "bruno", "carla", "dan", "eve", "farah", "gus", "hana", "ivan", "jade", "kofi", "lena", "milo",
    "noor",
]  # fmt: skip
INTENT_CAUSES = {
    "shipping_issue": [("shipping_delay", 6), ("lost_or_wrong_item", 3), ("information_request", 1)],
    "product_defect": [("product_defect", 8), ("lost_or_wrong_item", 2)],
    "order_issue": [("customer_change_of_mind", 4), ("lost_or_wrong_item", 3), ("billing_error", 3)],
    "purchase_dispute": [("billing_error", 6), ("policy_confusion", 4)],
    "account_access": [("account_problem", 8), ("website_or_app_issue", 2)],
    "manage_account": [("account_problem", 7), ("policy_confusion", 3)],
    "subscription_inquiry": [("policy_confusion", 5), ("billing_error", 3), ("information_request", 2)],
    "troubleshoot_site": [("website_or_app_issue", 8), ("account_problem", 2)],
    "single_item_query": [("information_request", 7), ("policy_confusion", 3)],
    "storewide_query": [("information_request", 7), ("policy_confusion", 3)],
}
CAUSE_METHODS = {
    "product_defect": [("replacement", 5), ("refund", 4), ("escalated", 1)],
    "shipping_delay": [("information_provided", 7), ("store_credit", 2), ("escalated", 1)],
    "lost_or_wrong_item": [("replacement", 6), ("refund", 4)],
    "policy_confusion": [("information_provided", 8), ("refund", 2)],
    "billing_error": [("refund", 8), ("escalated", 2)],
    "account_problem": [("account_fixed", 8), ("escalated", 2)],
    "website_or_app_issue": [("information_provided", 5), ("escalated", 3), ("no_resolution", 2)],
    "customer_change_of_mind": [("order_changed", 6), ("refund", 4)],
    "information_request": [("information_provided", 19), ("no_resolution", 1)],
}
SUMMARIES = {
    "refund": "The team refunded the order.",
    "replacement": "The team sent a replacement.",
    "information_provided": "The agent explained what happens next.",
    "order_changed": "The agent changed the order as asked.",
    "account_fixed": "The agent restored access to the account.",
    "store_credit": "The agent offered store credit as a goodwill gesture.",
    "escalated": "The agent escalated it to a specialist team.",
    "no_resolution": "The conversation ended without a fix.",
}
BACKLOG_HOURS = 36  # triaged conversations newer than this are still waiting for a reviewer


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    keys, weights = zip(*weighted, strict=True)
    return rng.choices(keys, weights=weights)[0]


def _lognormal_seconds(rng: random.Random, median_seconds: float, sigma: float) -> int:
    return max(int(rng.lognormvariate(math.log(median_seconds), sigma)), 1)


class _World:
    """The fixed cast of a synthetic history: intents, agents with their habits, taxonomies."""

    def __init__(self, rng: random.Random) -> None:
        self.intents = list(Intent.objects.filter(parent__isnull=True, active=True))
        if not self.intents:
            raise ValueError("No intents: load the taxonomy first (manage.py taxonomy_load).")
        self.intent_weights = [max(1.0, 10.0 / (n + 1)) for n in range(len(self.intents))]
        self.causes = {c.key: c for c in RootCause.objects.all()}
        self.methods = {m.key: m for m in ResolutionMethod.objects.all()}
        self.agents = []
        for n, name in enumerate(FIRST_NAMES):
            self.agents.append(
                {
                    "id": name,
                    "team": TEAMS[n % len(TEAMS)],
                    "speed": rng.uniform(0.6, 1.6),  # multiplies response times
                    "tone": rng.uniform(-0.8, 0.6),
                    "accuracy": rng.uniform(-0.8, 0.5),
                }
            )

    def cause_for(self, rng: random.Random, intent: str) -> RootCause | None:
        options = [(k, w) for k, w in INTENT_CAUSES.get(intent, [("other", 1)]) if k in self.causes]
        return self.causes[_pick(rng, options)] if options else None

    def method_for(self, rng: random.Random, cause: RootCause | None) -> ResolutionMethod | None:
        options = [
            (k, w)
            for k, w in CAUSE_METHODS.get(cause.key if cause else "", [("information_provided", 1)])
            if k in self.methods
        ]
        return self.methods[_pick(rng, options)] if options else None


def _score(rng: random.Random, offset: float) -> int:
    return min(max(round(rng.gauss(4.0 + offset, 0.8)), 1), 5)


def history_synthesize(
    *,
    conversations: int,
    days: int = 365,
    seed: int = 1,
    batch_size: int = 5000,
    with_messages: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create `conversations` resolved conversations with classifications, reviews and analyses.

    Rows are written with bulk_create in batches, so a million is a matter of minutes. Ids start
    with "syn-<seed>-" so a second run with another seed adds to the first. Returns how many.
    """
    rng = random.Random(seed)
    world = _World(rng)
    now = timezone.now()
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    customers = [
        Customer(kustomer_id=f"{PREFIX}-{seed}-cust-{n}", name=f"Customer {n}")
        for n in range(max(min(conversations // 5, 20_000), 1))
    ]
    Customer.objects.bulk_create(customers, batch_size=batch_size, ignore_conflicts=True)
    customers = list(Customer.objects.filter(kustomer_id__startswith=f"{PREFIX}-{seed}-cust-"))
    made = 0
    while made < conversations:
        size = min(batch_size, conversations - made)
        with transaction.atomic():
            _batch_create(rng, world, customers, made, size, seed, start, span, now, with_messages)
        made += size
        if progress:
            progress(size)
    return made


def _batch_create(rng, world, customers, offset, size, seed, start, span, now, with_messages) -> None:
    rows = []
    for n in range(offset, offset + size):
        intent = rng.choices(world.intents, weights=world.intent_weights)[0]
        agent = rng.choice(world.agents)
        channel = _pick(rng, CHANNELS)
        resolved_at = start + timedelta(seconds=rng.random() * span)
        chat = channel in ("chat", "sms")
        first_response = int(_lognormal_seconds(rng, 120 if chat else 1800, 0.9) * agent["speed"])
        transfers = rng.choices([0, 1, 2, 3], weights=[75, 19, 5, 1])[0]
        reopens = rng.choices([0, 1, 2], weights=[90, 8, 2])[0]
        customer_messages = 1 + min(int(rng.expovariate(0.8)), 12) + reopens
        agent_messages = max(customer_messages - rng.choice([0, 0, 1]), 1)
        wait = first_response + sum(
            _lognormal_seconds(rng, 600 if chat else 3600, 1.0) for _ in range(customer_messages - 1)
        )
        resolution = wait + _lognormal_seconds(rng, 1800 if chat else 4 * 3600, 1.1)
        created_at = resolved_at - timedelta(seconds=resolution)
        route = "triage" if rng.random() < 0.15 else "auto"
        rows.append(
            {
                "n": n,
                "intent": intent,
                "agent": agent,
                "channel": channel,
                "resolved_at": resolved_at,
                "created_at": created_at,
                "first_response": first_response,
                "resolution": resolution,
                "wait": wait,
                "transfers": transfers,
                "reopens": reopens,
                "customer_messages": customer_messages,
                "agent_messages": agent_messages,
                "route": route,
                "customer": rng.choice(customers),
            }
        )
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                kustomer_id=f"{PREFIX}-{seed}-{r['n']}",
                customer=r["customer"],
                name=f"{r['intent'].name} #{r['n']}",
                status="done",
                channels=[r["channel"]],
                assigned_users=[r["agent"]["id"]],
                assigned_teams=[r["agent"]["team"]],
                message_count=r["customer_messages"] + r["agent_messages"],
                kustomer_created_at=r["created_at"],
                kustomer_updated_at=r["resolved_at"],
                resolved_count=1 + r["reopens"],
                rev=1,
            )
            for r in rows
        ]
    )
    # Only triaged conversations get a classification row: the dashboards read the route from the
    # analysis, and the backlog and agreement panels need the triage ones (a third of the rows saved).
    triaged = [(r, c) for r, c in zip(rows, conversations, strict=True) if r["route"] == "triage"]
    classifications = [
        Classification(
            conversation=c,
            status=Classification.Status.DONE,
            intent=r["intent"],
            confidence=round(rng.uniform(0.9, 0.99) if r["route"] == "auto" else rng.uniform(0.4, 0.89), 3),
            route=r["route"],
            route_reason=RouteReason.LOW_CONFIDENCE if r["route"] == "triage" else "",
            provider="claude",
            model_id="claude-haiku-5-5",
            classified_at=r["created_at"] + timedelta(seconds=5),
            writeback_status=Classification.WriteBack.DONE,
        )
        for r, c in triaged
    ]
    backlog_since = now - timedelta(hours=BACKLOG_HOURS)
    reviews = []
    for (r, _), classification in zip(triaged, classifications, strict=True):
        if classification.classified_at > backlog_since:
            continue
        agreed = rng.random() < 0.82
        reviews.append(
            TriageReview(
                classification=classification,
                intent=r["intent"] if agreed else rng.choice(world.intents),
                agreed=agreed,
                created_at=classification.classified_at + timedelta(minutes=rng.randint(5, 600)),
            )
        )
    # Reviews need a priority and a complexity; synthetic ones take the first level of each.
    priority = PriorityLevel.objects.order_by("position", "pk").first()
    complexity = ComplexityLevel.objects.order_by("position", "pk").first()
    if priority is None or complexity is None:
        reviews = []
    for review in reviews:
        review.priority, review.complexity = priority, complexity
        # As triage_review_save does: the backlog is counted from the classification row.
        review.classification.reviewed_at = review.created_at
    Classification.objects.bulk_create(classifications)
    with _own_created_at(TriageReview):
        TriageReview.objects.bulk_create(reviews)
    analyses = []
    for r, c in zip(rows, conversations, strict=True):
        cause = world.cause_for(rng, r["intent"].key)
        method = world.method_for(rng, cause)
        outcome = rng.random()
        extracted = outcome < 0.96
        tone = _score(rng, r["agent"]["tone"]) if extracted else None
        accuracy = _score(rng, r["agent"]["accuracy"]) if extracted else None
        analyses.append(
            ConversationAnalysis(
                conversation=c,
                occurrence=1 + r["reopens"],
                status=ConversationAnalysis.Status.DONE,
                due_at=r["resolved_at"] + timedelta(minutes=10),
                resolved_at=r["resolved_at"],
                analysed_at=r["resolved_at"] + timedelta(minutes=10),
                intent=r["intent"].key,
                route=r["route"],
                channel=r["channel"],
                team=r["agent"]["team"],
                agent=r["agent"]["id"],
                first_response_seconds=r["first_response"],
                resolution_seconds=r["resolution"],
                customer_messages=r["customer_messages"],
                agent_messages=r["agent_messages"],
                transfers=r["transfers"],
                reopens=r["reopens"],
                customer_wait_seconds=r["wait"],
                effort_score=effort_score(
                    customer_messages=r["customer_messages"],
                    transfers=r["transfers"],
                    reopens=r["reopens"],
                    customer_wait_seconds=r["wait"],
                ),
                extraction_status=(
                    ConversationAnalysis.Extraction.DONE
                    if extracted
                    else ConversationAnalysis.Extraction.INVALID
                    if outcome < 0.98
                    else ConversationAnalysis.Extraction.WAITING_KEY
                ),
                extraction_error=""
                if extracted or outcome >= 0.98
                else f"{LlmFailure.INVALID_OUTPUT}: synthetic flagged answer",
                root_cause=cause if extracted else None,
                resolution_method=method if extracted else None,
                tone_score=tone,
                accuracy_score=accuracy,
                summary=(
                    f"The customer got in touch about {r['intent'].name.lower()}. "
                    f"{SUMMARIES.get(method.key if method else '', 'It was resolved.')}"
                    if extracted
                    else ""
                ),
                model_id="claude-haiku-4-5" if extracted else "",
                cost_usd=Decimal("0.0009") if extracted else Decimal("0"),
            )
        )
    ConversationAnalysis.objects.bulk_create(analyses)
    if with_messages:
        _messages_create(rng, rows, conversations)


@contextmanager
def _own_created_at(*models: type[Model]) -> Iterator[None]:
    """Let bulk_create keep the created_at we set: history happened in the past, not now."""
    fields = [model._meta.get_field("created_at") for model in models]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _messages_create(rng: random.Random, rows: list[dict], conversations: list[Conversation]) -> None:
    messages = []
    for r, c in zip(rows, conversations, strict=True):
        at: datetime = r["created_at"]
        messages.append(
            Message(
                kustomer_id=f"{c.kustomer_id}-m1",
                conversation=c,
                customer=r["customer"],
                direction=Message.Direction.IN,
                channel=r["channel"],
                body=f"Hi, I need help: {r['intent'].name.lower()}.",
                sent_at=at,
            )
        )
        messages.append(
            Message(
                kustomer_id=f"{c.kustomer_id}-m2",
                conversation=c,
                direction=Message.Direction.OUT,
                channel=r["channel"],
                body="Thanks for reaching out, I'm on it.",
                created_by=r["agent"]["id"],
                sent_at=at + timedelta(seconds=r["first_response"]),
            )
        )
    Message.objects.bulk_create(messages)
