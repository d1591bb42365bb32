"""Classifying a conversation: Claude, the local classifier, or both, once per conversation."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bearscope.llm import (
    LlmCall,
    LlmError,
    LlmFailure,
    LlmInvalidOutput,
    cached_system,
    llm_configured,
    output_parse,
    structured_call,
)
from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit, task_claim_expiry
from bearscope.sweeps import SWEEP_BATCH
from kustomer.models import Conversation

from ..local.services import local_model_active
from ..models import Classification, ClassifierSettings, ComplexityLevel, Intent, PriorityLevel
from ..prompting import ClassifierOutput, conversation_text, static_prompt_build
from ..reasons import ProviderReason, RouteReason
from .local_answer import LocalModel, local_answer_apply, local_predict
from .routing import classification_route

logger = logging.getLogger(__name__)

CLASSIFY_TASK = "classification.tasks.conversation_classify"
# A refusal says something about the message itself: a person should read it, not a second model.
NO_FALLBACK_FOR = {LlmFailure.REFUSAL}


def conversation_classify_enqueue(*, conversation: Conversation) -> None:
    enqueue_on_commit(CLASSIFY_TASK, conversation.pk, task_name=f"classify-{conversation.pk}")


def conversation_classify(*, conversation_pk: int) -> Classification | None:
    """Classify a conversation once: at most one current classification, however often asked."""
    config = ClassifierSettings.load()
    if not config.enabled:
        return None
    conversation = Conversation.objects.get(pk=conversation_pk)
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
    if not llm_configured():
        if local and config.local_offline_default:
            _classify_locally(classification, config, local, why=ProviderReason.OFFLINE_DEFAULT)
            return
        classification.provider_reason = ProviderReason.NO_CLASSIFIER
        classification_route(
            classification=classification,
            config=config,
            reason=RouteReason.NO_CLASSIFIER,
            error="No ANTHROPIC_API_KEY and no local classifier to use instead: set the key, or train one "
            "(manage.py classifier_train) and keep its offline default on.",
        )
        return
    if local and config.local_cascade:
        prediction = local_predict(classification, local)
        if prediction and prediction.intent_confidence >= float(config.local_cascade_threshold):
            local_answer_apply(classification, local[0], prediction, config=config)
            classification.provider_reason = ProviderReason.CASCADE_CONFIDENT
            classification_route(classification=classification, config=config)
            return
        classification.provider_reason = ProviderReason.CASCADE_NOT_CONFIDENT
    _classify_with_claude(classification, config, fallback=local if config.local_fallback else None)


def _classify_with_claude(
    classification: Classification, config: ClassifierSettings, *, fallback: LocalModel | None
) -> None:
    static = static_prompt_build(config)
    classification.provider = "claude"
    classification.provider_reason = classification.provider_reason or ProviderReason.CLAUDE
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
        prediction = local_predict(classification, fallback) if can_fall_back else None
        if prediction is None:
            classification_route(
                classification=classification, config=config, reason=exc.reason, error=str(exc)
            )
            return
        # The local answer decides the route; Claude's error and spend stay on the record.
        threshold = config.local_fallback_threshold
        local_answer_apply(
            classification, fallback[0], prediction, config=config, threshold=threshold, keep_raw_output=True
        )
        classification.provider_reason = ProviderReason.FALLBACK
        reason = "" if prediction.intent_confidence >= float(threshold) else exc.reason
        classification_route(
            classification=classification, config=config, reason=reason, error=str(exc), threshold=threshold
        )
        return
    _record_call(classification, call)
    classification_route(classification=classification, config=config)


def _classify_locally(
    classification: Classification, config: ClassifierSettings, local: LocalModel, *, why: ProviderReason
) -> None:
    prediction = local_predict(classification, local)
    if prediction is None:
        classification.provider_reason = ProviderReason.NO_CLASSIFIER
        classification_route(
            classification=classification,
            config=config,
            reason=RouteReason.NO_CLASSIFIER,
            error=f"No ANTHROPIC_API_KEY, and {local[0]} knows none of the active intents.",
        )
        return
    local_answer_apply(classification, local[0], prediction, config=config)
    classification.provider_reason = why
    classification_route(classification=classification, config=config)


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


def classification_stuck_sweep() -> list[int]:
    """Re-enqueue classifications a killed worker left pending; returns their conversation ids."""
    stale = timezone.now() - task_claim_expiry()
    stuck = list(
        Classification.objects.filter(
            status=Classification.Status.PENDING,
            current=True,
        )
        .filter(Q(started_at__isnull=True, created_at__lt=stale) | Q(started_at__lt=stale))
        .values_list("conversation_id", flat=True)[:SWEEP_BATCH]
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
