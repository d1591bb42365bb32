"""Reads of the classification pipeline: the triage queue, its counts, routing figures."""

from dataclasses import dataclass, field, fields

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from bearscope.llm import llm_configured
from kustomer.models import Conversation, Message

from .models import Classification, ClassifierSettings, LocalModelVersion, TriageReview
from .reasons import QueueReason, ReclassifyReason, reason_label

RESOLVED_STATUS = "done"  # Kustomer's status of a resolved conversation

# Queue filter bands: key -> (label, lower bound inclusive, upper bound exclusive).
QUEUE_BANDS: dict[str, tuple[str, float | None, float | None]] = {
    "lt50": ("Below 0.5", None, 0.5),
    "50-70": ("0.5 to 0.7", 0.5, 0.7),
    "70-90": ("0.7 to 0.9", 0.7, 0.9),
    "gte90": ("0.9 and above", 0.9, None),
    "none": ("No confidence (error)", None, None),
}

# Queue orders: key -> (label, ordering). "wait" is how long the customer has waited since their
# first message; "priority" is the AI's proposed priority, highest first.
QUEUE_SORTS: dict[str, str] = {
    "": "Oldest in triage first",
    "wait": "Longest customer wait first",
    "priority": "Highest priority first",
}


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer narrowed the queue to and how it is sorted; empty strings mean no filter.

    Every field is a query-string parameter of the same name, so a new filter is one new field.
    """

    intent: str = ""
    band: str = ""
    channel: str = ""
    language: str = ""
    reason: str = ""
    sort: str = ""

    def as_query(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @property
    def active(self) -> bool:
        """Whether anything narrows the queue (the order alone does not)."""
        return any(v for k, v in self.as_query().items() if k != "sort")


def _in_queue() -> Q:
    """Sent to triage, or routed automatically and sampled for a blind audit."""
    return Q(route=Classification.Route.TRIAGE) | Q(route=Classification.Route.AUTO, audit=True)


def triage_unreviewed() -> QuerySet[Classification]:
    """Current classifications sent to triage that no reviewer has reviewed yet, resolved or not
    (the dashboards' backlog). Read from the row's `reviewed_at`, which the review service sets."""
    return Classification.objects.filter(
        route=Classification.Route.TRIAGE,
        status=Classification.Status.DONE,
        current=True,
        reviewed_at__isnull=True,
    )


def _first_customer_message_at() -> QuerySet[Message]:
    """When the customer first wrote on the outer conversation: where their wait starts."""
    sent = Coalesce("sent_at", "kustomer_created_at")
    return (
        Message.objects.filter(conversation=OuterRef("conversation"), direction=Message.Direction.IN)
        .annotate(at=sent)
        .filter(at__isnull=False)
        .order_by("at")
        .values("at")[:1]
    )


def triage_waiting() -> QuerySet[Classification]:
    """Every conversation waiting for a reviewer, oldest first; resolved conversations leave the queue
    (their classification stays, and they come back if reopened before anyone reviewed them)."""
    return (
        Classification.objects.filter(
            _in_queue(),
            status=Classification.Status.DONE,
            current=True,
            review__isnull=True,
        )
        .exclude(conversation__status=RESOLVED_STATUS)
        .select_related(
            "conversation", "conversation__customer", "intent", "sub_intent", "priority", "claimed_by"
        )
        .annotate(
            queue_reason=Case(
                When(route=Classification.Route.AUTO, then=Value(QueueReason.AUDIT.value)),
                default=F("route_reason"),
                output_field=CharField(),
            ),
            customer_since=Coalesce(
                Subquery(_first_customer_message_at()), "conversation__kustomer_created_at", "classified_at"
            ),
        )
        .order_by("classified_at", "pk")
    )


def _band_q(band: str) -> Q:
    if band == "none":
        return Q(confidence__isnull=True)
    _, low, high = QUEUE_BANDS[band]
    q = Q(confidence__isnull=False)
    if low is not None:
        q &= Q(confidence__gte=low)
    if high is not None:
        q &= Q(confidence__lt=high)
    return q


def triage_queue(*, filters: QueueFilters) -> QuerySet[Classification]:
    """The waiting conversations that match the filters, in the order asked for (oldest first)."""
    queue = triage_waiting()
    if filters.intent:
        queue = queue.filter(intent__key=filters.intent, intent__parent__isnull=True)
    if filters.band in QUEUE_BANDS:
        queue = queue.filter(_band_q(filters.band))
    if filters.language:
        queue = queue.filter(language=filters.language)
    if filters.reason:
        queue = queue.filter(queue_reason=filters.reason)
    if filters.channel:
        if connection.features.supports_json_field_contains:
            queue = queue.filter(conversation__channels__contains=[filters.channel])
        else:
            # SQLite cannot look inside a JSON list; the queue is small enough to check here.
            rows = queue.values_list("pk", "conversation__channels")
            queue = queue.filter(pk__in=[pk for pk, channels in rows if filters.channel in (channels or [])])
    if filters.sort == "wait":
        queue = queue.order_by("customer_since", "classified_at", "pk")
    elif filters.sort == "priority":
        queue = queue.order_by(
            F("priority__kustomer_priority").desc(nulls_last=True), "customer_since", "classified_at", "pk"
        )
    return queue


def triage_next(*, filters: QueueFilters, user: AbstractBaseUser) -> Classification | None:
    """The first matching conversation (in the queue's order) nobody else is reviewing right now."""
    now = timezone.now()
    return (
        triage_queue(filters=filters)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user) | Q(claimed_until__lt=now))
        .first()
    )


def triage_channels() -> list[str]:
    """The channels of the waiting conversations, for the channel filter."""
    channels: set[str] = set()
    for row in triage_waiting().values_list("conversation__channels", flat=True):
        channels.update(c for c in (row or []) if isinstance(c, str))
    return sorted(channels)


def triage_languages() -> list[str]:
    """The customer languages of the waiting conversations, for the language filter."""
    return sorted(set(triage_waiting().exclude(language="").values_list("language", flat=True)))


@dataclass
class QueueCounts:
    total: int
    by_intent: list[dict] = field(default_factory=list)  # key, name, count; key "" = no proposal
    by_reason: list[dict] = field(default_factory=list)  # reason, label, count


def triage_counts() -> QueueCounts:
    """How many conversations wait, per proposed intent and per reason they are in triage."""
    waiting = triage_waiting().order_by()
    by_intent = [
        {"key": row["intent__key"] or "", "name": row["intent__name"] or "No proposal", "count": row["n"]}
        for row in waiting.values("intent__key", "intent__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "intent__key")
    ]
    by_reason = [
        {"reason": row["queue_reason"], "label": reason_label(row["queue_reason"]), "count": row["n"]}
        for row in waiting.values("queue_reason").annotate(n=Count("pk")).order_by("-n", "queue_reason")
    ]
    return QueueCounts(total=sum(row["count"] for row in by_intent), by_intent=by_intent, by_reason=by_reason)


def triage_item_get(*, classification_pk: int) -> Classification:
    """A triage classification with what the item page shows; raises DoesNotExist otherwise."""
    return Classification.objects.select_related(
        "conversation",
        "conversation__customer",
        "intent",
        "sub_intent",
        "priority",
        "complexity",
        "claimed_by",
        "review",
        "review__reviewer",
    ).get(_in_queue(), pk=classification_pk, status=Classification.Status.DONE)


def conversation_transcript(*, conversation_id: int) -> QuerySet[Message]:
    """The mirrored messages of a conversation in the order they were sent."""
    return Message.objects.filter(conversation_id=conversation_id).order_by(
        Coalesce("sent_at", "kustomer_created_at", "created_at"), "pk"
    )


@dataclass(frozen=True)
class RoutingCounts:
    """Current classifications: decided (auto or triage), written back, and still in progress."""

    classified: int
    auto: int
    triage: int
    written: int
    unfinished: int


def routing_counts() -> RoutingCounts:
    current = Classification.objects.filter(current=True)
    done = current.filter(status=Classification.Status.DONE)
    return RoutingCounts(
        classified=done.count(),
        auto=done.filter(route=Classification.Route.AUTO).count(),
        triage=done.filter(route=Classification.Route.TRIAGE).count(),
        written=done.filter(writeback_status=Classification.WriteBack.DONE).count(),
        unfinished=current.exclude(
            status=Classification.Status.DONE, writeback_status=Classification.WriteBack.DONE
        ).count(),
    )


def classifier_in_use() -> tuple[str, bool]:
    """Which classifier classifies new conversations, in a sentence; False when none can."""
    config = ClassifierSettings.load()
    local = LocalModelVersion.objects.filter(active=True).defer("artifact").first()
    if llm_configured():
        uses = [f"fallback when Claude fails ({local})"] if local and config.local_fallback else []
        if local and config.local_cascade:
            uses.append(f"cascade at confidence {config.local_cascade_threshold}")
        also = f", local model as {' and '.join(uses)}" if uses else ""
        return f"Claude ({config.model_id}){also}", True
    if local and config.local_offline_default:
        return (
            f"the local model ({local}), because ANTHROPIC_API_KEY is not set; "
            "set it to classify with Claude",
            True,
        )
    return (
        "none (no ANTHROPIC_API_KEY and no local model), so every conversation goes to the triage queue "
        "with the reason 'no_classifier'",
        False,
    )


# What following the conversation reads of its current classification on every customer message; the
# wide fields (the prompt sent, the model's answer, the rationale) are left in the database.
FOLLOWING_FIELDS = (
    "conversation_id",
    "current",
    "status",
    "route",
    "started_at",
    "classified_at",
    "created_at",
    "reclassify_due_at",
)
# Re-classifications the product asked for on its own; the admin's "classify again" does not count.
AUTOMATIC_RECLASSIFY = [ReclassifyReason.TRIAGE_UNREVIEWED, ReclassifyReason.TOO_LITTLE_TEXT]


def following_classification(*, conversation: Conversation) -> Classification | None:
    """The conversation's current classification with only FOLLOWING_FIELDS loaded; None before the first."""
    return (
        Classification.objects.filter(conversation=conversation, current=True).only(*FOLLOWING_FIELDS).first()
    )


@dataclass(frozen=True)
class FollowingFacts:
    """What stops a conversation from being classified again, read together."""

    reviewed: bool  # a reviewer decided one of its classifications
    answered: bool  # a message went out: an agent, or BearScope's reply
    reclassified: int  # automatic re-classifications so far


def following_facts(*, conversation: Conversation) -> FollowingFacts:
    """The three in one query, not one each: they are asked only once everything else says "again"."""
    reclassified = (
        Classification.objects.filter(conversation=OuterRef("pk"), reclassify_reason__in=AUTOMATIC_RECLASSIFY)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    outbound = Message.objects.filter(conversation=OuterRef("pk"), direction=Message.Direction.OUT)
    row = (
        Conversation.objects.filter(pk=conversation.pk)
        .values(
            reviewed=Exists(TriageReview.objects.filter(classification__conversation=OuterRef("pk"))),
            answered=Exists(outbound),
            reclassified=Coalesce(Subquery(reclassified), 0),
        )
        .get()
    )
    return FollowingFacts(**row)
