"""Writes of the classification pipeline: classify, route, write back, review, claim."""

import dataclasses
import functools
import json
import logging
import re
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bearscope.llm import LlmCall, LlmError, LlmInvalidOutput, cached_system, output_parse, structured_call
from bearscope.llm import llm_configured as claude_configured
from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit, task_claim_expiry
from kustomer.client import KustomerError, client_get
from kustomer.models import Conversation, CustomAttributeNames

from .local.model import LocalClassifier, LocalModelError, Prediction
from .local.services import SEPARATOR, local_model_active, local_text, taxonomy_labels
from .models import (
    Classification,
    ClassifierSettings,
    ComplexityLevel,
    Intent,
    LocalModelVersion,
    PriorityLevel,
    TriageReview,
)
from .prompting import ClassifierOutput, conversation_text, static_prompt_build
from .signals import classification_decided

logger = logging.getLogger(__name__)

CLASSIFY_TASK = "classification.tasks.conversation_classify"
WRITEBACK_TASK = "classification.tasks.classification_write_back"
CLAIM_MINUTES = 5
WRITEBACK_MAX_ATTEMPTS = 10

# Why the provider that decided did (Classification.provider_reason).
CLAUDE = "claude"
OFFLINE_DEFAULT = "offline_default"
FALLBACK = "fallback_after_claude_error"
CASCADE_CONFIDENT = "cascade_confident"
CASCADE_NOT_CONFIDENT = "cascade_not_confident"
NO_CLASSIFIER = "no_classifier"
# A refusal says something about the message itself: a person should read it, not a second model.
NO_FALLBACK_FOR = {"refusal"}
# Best effort for the local classifier, which extracts nothing: order numbers like BS-100234.
ORDER_NUMBER = re.compile(r"\b[A-Z]{1,5}-?\d{4,12}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

LocalModel = tuple[LocalModelVersion, LocalClassifier]


def conversation_classify_enqueue(*, conversation: Conversation) -> None:
    enqueue_on_commit(CLASSIFY_TASK, conversation.pk, task_name=f"classify-{conversation.pk}")


def conversation_classify(*, conversation_id: int) -> Classification | None:
    """Classify a conversation once: at most one current classification, however often asked."""
    config = ClassifierSettings.load()
    if not config.enabled:
        return None
    conversation = Conversation.objects.get(pk=conversation_id)
    try:
        with transaction.atomic():
            classification, _ = Classification.objects.get_or_create(conversation=conversation, current=True)
    except IntegrityError:
        classification = Classification.objects.get(conversation=conversation, current=True)
    now = timezone.now()
    # A worker killed mid-call leaves its start behind; once its task timeout has passed, it is dead.
    stale = now - task_claim_expiry()
    taken = Classification.objects.filter(
        Q(started_at__isnull=True) | Q(started_at__lt=stale),
        pk=classification.pk,
        status=Classification.Status.PENDING,
    ).update(started_at=now)
    if not taken:
        return classification  # done already, or another worker is on it
    classification.refresh_from_db()
    _classify(classification, conversation, config)
    return classification


def _classify(classification: Classification, conversation: Conversation, config: ClassifierSettings) -> None:
    """Claude, the local classifier, or both, as the settings say; the result records who decided and why."""
    classification.prompt_input = conversation_text(conversation, config.conversation_char_budget)
    local = local_model_active()
    if not claude_configured():
        if local and config.local_offline_default:
            _classify_locally(classification, config, local, why=OFFLINE_DEFAULT)
            return
        classification.provider_reason = NO_CLASSIFIER
        _decide(
            classification,
            config,
            reason="no_classifier",
            error="No ANTHROPIC_API_KEY and no local classifier to use instead: set the key, or train one "
            "(manage.py classifier_train) and keep its offline default on.",
        )
        return
    if local and config.local_cascade:
        prediction = _local_predict(classification, local)
        if prediction and prediction.confidence >= float(config.local_cascade_threshold):
            _apply_local(classification, local[0], prediction)
            classification.provider_reason = CASCADE_CONFIDENT
            _decide(classification, config)
            return
        classification.provider_reason = CASCADE_NOT_CONFIDENT
    _classify_with_claude(classification, config, fallback=local if config.local_fallback else None)


def _classify_with_claude(
    classification: Classification, config: ClassifierSettings, *, fallback: LocalModel | None
) -> None:
    static = static_prompt_build(config)
    classification.provider = "claude"
    classification.provider_reason = classification.provider_reason or CLAUDE
    classification.model_id = config.model_id
    classification.prompt_version = static.version
    call: LlmCall | None = None
    try:
        call = structured_call(
            model=config.model_id,
            system=cached_system(static.text),
            user_text=classification.prompt_input,
            schema=static.schema,
            max_tokens=config.max_tokens,
        )
        output = output_parse(call, ClassifierOutput)
        _apply_output(classification, output)
    except LlmError as exc:
        call = call or exc.call
        _record_call(classification, call)
        can_fall_back = fallback is not None and exc.reason not in NO_FALLBACK_FOR
        prediction = _local_predict(classification, fallback) if can_fall_back else None
        if prediction is None:
            _decide(classification, config, reason=exc.reason, error=str(exc))
            return
        # The local answer decides the route; Claude's error and spend stay on the record.
        _apply_local(classification, fallback[0], prediction, keep_raw_output=True)
        classification.provider_reason = FALLBACK
        threshold = config.local_fallback_threshold
        reason = "" if prediction.confidence >= float(threshold) else exc.reason
        _decide(classification, config, reason=reason, error=str(exc), threshold=threshold)
        return
    _record_call(classification, call)
    _decide(classification, config)


def _classify_locally(
    classification: Classification, config: ClassifierSettings, local: LocalModel, *, why: str
) -> None:
    prediction = _local_predict(classification, local)
    if prediction is None:
        classification.provider_reason = NO_CLASSIFIER
        _decide(
            classification,
            config,
            reason="no_classifier",
            error=f"No ANTHROPIC_API_KEY, and {local[0]} knows none of the active intents.",
        )
        return
    _apply_local(classification, local[0], prediction)
    classification.provider_reason = why
    _decide(classification, config)


def _local_predict(classification: Classification, local: LocalModel) -> Prediction | None:
    """The local answer among the labels still active in the taxonomy; None if it knows none of them."""
    version, model = local
    started = time.monotonic()
    try:
        prediction = model.predict(local_text(classification.prompt_input), allowed=taxonomy_labels())
    except LocalModelError:
        return None
    classification.local_model = version
    classification.local_label = prediction.label
    classification.local_confidence = round(prediction.confidence, 4)
    classification.latency_ms = (classification.latency_ms or 0) + int((time.monotonic() - started) * 1000)
    return prediction


def _apply_local(
    classification: Classification,
    version: LocalModelVersion,
    prediction: Prediction,
    *,
    keep_raw_output: bool = False,
) -> None:
    """The local answer as the result; priority and complexity from the intent's defaults."""
    # The label is one of the active taxonomy's (the prediction was limited to them).
    intent_key, _, sub_key = prediction.label.partition(SEPARATOR)
    intents = Intent.objects.select_related("default_priority", "default_complexity")
    intent = intents.get(key=intent_key, parent__isnull=True)
    sub = intents.get(key=sub_key, parent=intent) if sub_key else None
    classification.intent, classification.sub_intent = intent, sub
    classification.priority = (
        (sub and sub.default_priority)
        or intent.default_priority
        or PriorityLevel.objects.order_by("position", "pk").first()
    )
    classification.complexity = (
        (sub and sub.default_complexity)
        or intent.default_complexity
        or ComplexityLevel.objects.order_by("position", "pk").first()
    )
    classification.confidence = round(prediction.confidence, 4)
    text = local_text(classification.prompt_input)
    orders, emails = ORDER_NUMBER.findall(text), EMAIL.findall(text)
    classification.entities = {
        "order_number": orders[0] if orders else None,
        "email": emails[0] if emails else None,
        "language": None,
    }
    rationale = (
        f"Local classifier v{version.pk}: {prediction.label} at confidence {prediction.confidence:.2f}; "
        f"runner-up {prediction.runner_up} ({prediction.runner_up_probability:.2f})."
    )
    if prediction.new_word_share >= 0.3:
        rationale += f" {prediction.new_word_share:.0%} of the message's words are new to it."
    classification.rationale = rationale
    classification.provider = "local"
    classification.model_id = f"local-v{version.pk}"
    if not keep_raw_output:
        classification.raw_output = json.dumps(dataclasses.asdict(prediction))


def _record_call(classification: Classification, call: LlmCall | None) -> None:
    if call is None:
        return
    classification.raw_output = call.text
    classification.latency_ms = (classification.latency_ms or 0) + call.latency_ms
    classification.input_tokens = call.usage.input_tokens
    classification.output_tokens = call.usage.output_tokens
    classification.cache_creation_tokens = call.usage.cache_creation_tokens
    classification.cache_read_tokens = call.usage.cache_read_tokens
    classification.cost_usd = call.cost_usd


def _apply_output(classification: Classification, output: ClassifierOutput) -> None:
    """Check the answer against the live taxonomy; anything unknown is invalid output."""
    intent = Intent.objects.filter(key=output.intent, parent__isnull=True, active=True).first()
    if intent is None:
        raise LlmInvalidOutput(f"Unknown or inactive intent {output.intent!r}.")
    sub_intent = None
    if output.sub_intent:
        sub_intent = intent.sub_intents.filter(key=output.sub_intent, active=True).first()
        if sub_intent is None:
            raise LlmInvalidOutput(
                f"Sub-intent {output.sub_intent!r} does not belong to intent {intent.key!r}."
            )
    priority = PriorityLevel.objects.filter(key=output.priority).first()
    complexity = ComplexityLevel.objects.filter(key=output.complexity).first()
    if priority is None or complexity is None:
        raise LlmInvalidOutput(f"Unknown priority {output.priority!r} or complexity {output.complexity!r}.")
    classification.intent, classification.sub_intent = intent, sub_intent
    classification.priority, classification.complexity = priority, complexity
    classification.confidence = output.confidence
    classification.rationale = output.rationale[:2000]
    classification.entities = output.entities.model_dump()


def threshold_for(intent: Intent | None, config: ClassifierSettings) -> Decimal:
    if intent is not None and intent.auto_route_threshold is not None:
        return intent.auto_route_threshold
    return config.auto_route_threshold


def _decide(
    classification: Classification,
    config: ClassifierSettings,
    *,
    reason: str = "",
    error: str = "",
    threshold: Decimal | None = None,
) -> None:
    """Route and save: auto only for a valid answer at or above the threshold; triage otherwise."""
    if threshold is None:
        threshold = threshold_for(classification.intent, config)
    if not reason and classification.confidence < float(threshold):
        reason = "low_confidence"
    classification.route = Classification.Route.TRIAGE if reason else Classification.Route.AUTO
    classification.route_reason = reason
    classification.error = error[:4000]
    classification.status = Classification.Status.DONE
    classification.classified_at = timezone.now()
    classification.writeback_status = Classification.WriteBack.PENDING
    with transaction.atomic():
        classification.save()
        # The worker that classified writes back right after commit, saving a queue round trip per
        # conversation; a failure is recorded on the row and the sweeper retries it.
        transaction.on_commit(
            functools.partial(classification_write_back, classification_id=classification.pk), robust=True
        )
        classification_decided.send(sender=Classification, classification=classification)


def writeback_attributes(
    classification: Classification, names: CustomAttributeNames
) -> tuple[dict, int | None]:
    """The custom attributes to write (reviewed values when there is a review) and Kustomer's priority."""
    review = getattr(classification, "review", None)
    source = review or classification
    custom = {
        names.intent: source.intent.key if source.intent else None,
        names.sub_intent: source.sub_intent.key if source.sub_intent else None,
        names.priority: source.priority.key if source.priority else None,
        names.complexity: source.complexity.key if source.complexity else None,
        names.confidence: classification.confidence,
        names.route: classification.route,
        names.classified_at: classification.classified_at.isoformat().replace("+00:00", "Z")
        if classification.classified_at
        else None,
        names.reviewed: review is not None,
    }
    return custom, (source.priority.kustomer_priority if source.priority else None)


def classification_write_back(*, classification_id: int) -> Classification:
    """PATCH the result onto the Kustomer conversation; a failure is recorded for the sweeper."""
    classification = Classification.objects.select_related(
        "conversation", "intent", "sub_intent", "priority", "complexity"
    ).get(pk=classification_id)
    if classification.writeback_status == Classification.WriteBack.DONE or not classification.current:
        return classification
    custom, priority = writeback_attributes(classification, CustomAttributeNames.load())
    try:
        client_get().conversation_custom_update(
            classification.conversation.kustomer_id, custom, priority=priority
        )
    except KustomerError as exc:
        Classification.objects.filter(pk=classification.pk).update(
            writeback_status=Classification.WriteBack.FAILED,
            writeback_error=str(exc)[:2000],
            writeback_attempts=F("writeback_attempts") + 1,
            updated_at=timezone.now(),
        )
        logger.warning("Write-back of classification %s failed: %s", classification.pk, exc)
        classification.refresh_from_db()
        return classification
    Classification.objects.filter(pk=classification.pk, updated_at=classification.updated_at).update(
        writeback_status=Classification.WriteBack.DONE,
        writeback_error="",
        written_back_at=timezone.now(),
        writeback_attempts=F("writeback_attempts") + 1,
    )
    classification.refresh_from_db()
    return classification


def writeback_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Re-enqueue write-backs that failed or never ran (the periodic sweeper); returns their ids."""
    stale = list(
        Classification.objects.filter(
            status=Classification.Status.DONE,
            current=True,
            writeback_status__in=[Classification.WriteBack.PENDING, Classification.WriteBack.FAILED],
            writeback_attempts__lt=WRITEBACK_MAX_ATTEMPTS,
            updated_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:500]
    )
    writebacks_enqueue(classification_ids=stale)
    return stale


def writebacks_enqueue(*, classification_ids: list[int]) -> int:
    enqueue_each_on_commit(WRITEBACK_TASK, classification_ids, name="writeback")
    return len(classification_ids)


def classification_stuck_sweep() -> list[int]:
    """Re-enqueue classifications a killed worker left pending; returns their conversation ids."""
    stale = timezone.now() - task_claim_expiry()
    stuck = list(
        Classification.objects.filter(
            status=Classification.Status.PENDING,
            current=True,
        )
        .filter(Q(started_at__isnull=True, created_at__lt=stale) | Q(started_at__lt=stale))
        .values_list("conversation_id", flat=True)[:500]
    )
    enqueue_each_on_commit(CLASSIFY_TASK, stuck, name="classify")
    return stuck


def conversations_reclassify(*, conversations) -> int:
    """Classify again on purpose: the current classification is kept as history."""
    count = 0
    with transaction.atomic():
        for conversation in conversations:
            Classification.objects.filter(conversation=conversation, current=True).update(current=False)
            conversation_classify_enqueue(conversation=conversation)
            count += 1
    return count


def triage_claim(*, classification: Classification, user: AbstractBaseUser) -> bool:
    """Claim an item for CLAIM_MINUTES unless someone else holds it; True when the user holds it."""
    now = timezone.now()
    return bool(
        Classification.objects.filter(pk=classification.pk)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user) | Q(claimed_until__lt=now))
        .update(claimed_by=user, claimed_until=now + timedelta(minutes=CLAIM_MINUTES))
    )


def triage_review_save(
    *,
    classification: Classification,
    reviewer: AbstractBaseUser,
    intent: Intent,
    sub_intent: Intent | None,
    priority: PriorityLevel,
    complexity: ComplexityLevel,
    note: str = "",
) -> TriageReview:
    """Record a reviewer's decision and write the reviewed values back to Kustomer."""
    if intent.parent_id is not None:
        raise ValueError("The intent must be a top-level intent.")
    if sub_intent is not None and sub_intent.parent_id != intent.pk:
        raise ValueError("The sub-intent must belong to the intent.")
    agreed = classification.intent_id == intent.pk and classification.sub_intent_id == (
        sub_intent.pk if sub_intent else None
    )
    with transaction.atomic():
        review = TriageReview.objects.create(
            classification=classification,
            reviewer=reviewer,
            intent=intent,
            sub_intent=sub_intent,
            priority=priority,
            complexity=complexity,
            note=note,
            agreed=agreed,
        )
        Classification.objects.filter(pk=classification.pk).update(
            writeback_status=Classification.WriteBack.PENDING,
            claimed_by=None,
            claimed_until=None,
            updated_at=timezone.now(),
        )
        enqueue_on_commit(WRITEBACK_TASK, classification.pk, task_name=f"writeback-{classification.pk}")
    return review
