"""A prediction without side effects, for backtests: no Classification saved, no write-back, no signal."""

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from bearscope.llm import (
    BatchRequest,
    LlmCall,
    LlmError,
    LlmFailure,
    LlmInvalidOutput,
    cached_system,
    llm_configured,
    output_parse,
    structured_call,
)
from kustomer.models import Conversation

from ..local.model import LocalModelError
from ..local.services import local_text, taxonomy_labels
from ..models import ClassifierSettings, Intent
from ..prompting import ClassifierOutput, StaticPrompt, conversation_text, static_prompt_build
from ..reasons import RouteReason
from .local_answer import EMAIL, ORDER_NUMBER, LocalModel
from .routing import threshold_for

PROVIDERS = ("local", "claude", "cascade")


@dataclass(frozen=True)
class MadePrediction:
    """What the classifier would have answered and decided; `intent` is '' when it gave no usable answer."""

    intent: str
    sub_intent: str
    confidence: float | None
    route: str  # "auto" or "triage", as Classification.Route
    reason: str  # why triage (a RouteReason or LlmFailure value), '' when auto
    provider: str  # who decided: "claude" or "local"
    sub_intent_confidence: float | None = None  # of the intent and the sub-intent together
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: Decimal = Decimal("0")
    entities: dict = field(default_factory=dict)


def prediction_text(*, conversation: Conversation, config: ClassifierSettings) -> str:
    """The conversation as the classifier reads it (the prompt's conversation part)."""
    return conversation_text(conversation, config.conversation_char_budget)


def _routed(intent: Intent | None, confidence: float, config: ClassifierSettings, threshold: Decimal | None):
    threshold = threshold if threshold is not None else threshold_for(intent, config)
    return ("auto", "") if confidence >= float(threshold) else ("triage", RouteReason.LOW_CONFIDENCE.value)


def _failed(provider: str, reason: str, error: str, call: LlmCall | None = None) -> MadePrediction:
    return MadePrediction(
        intent="",
        sub_intent="",
        confidence=None,
        route="triage",
        reason=reason,
        provider=provider,
        error=error[:1000],
        **_spend(call),
    )


def _spend(call: LlmCall | None) -> dict:
    if call is None:
        return {}
    usage = call.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_tokens": usage.cache_creation_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cost_usd": call.cost_usd,
    }


def prediction_local(
    *, text: str, config: ClassifierSettings, local: LocalModel, threshold: Decimal | None = None
) -> MadePrediction | None:
    """The local answer: routed on the intent's confidence, the sub-intent given only when its (joint)
    confidence reaches the same threshold. None when the model knows none of the active intents."""
    _, model = local
    try:
        prediction = model.predict(local_text(text), allowed=taxonomy_labels())
    except LocalModelError:
        return None
    intent = Intent.objects.filter(key=prediction.intent, parent__isnull=True).first()
    threshold = threshold if threshold is not None else threshold_for(intent, config)
    confidence = round(prediction.intent_confidence, 4)
    route, reason = _routed(intent, confidence, config, threshold)
    sub_given = prediction.sub_intent and prediction.sub_intent_confidence >= float(threshold)
    words = local_text(text)
    orders, emails = ORDER_NUMBER.findall(words), EMAIL.findall(words)
    return MadePrediction(
        intent=prediction.intent,
        sub_intent=prediction.sub_intent if sub_given else "",
        confidence=confidence,
        sub_intent_confidence=round(prediction.sub_intent_confidence, 4) if sub_given else None,
        route=route,
        reason=reason,
        provider="local",
        entities={"order_number": orders[0] if orders else None, "email": emails[0] if emails else None},
    )


def claude_request(
    *, custom_id: str, text: str, config: ClassifierSettings, static: StaticPrompt
) -> BatchRequest:
    """One conversation's request, as a Message Batch takes it."""
    return BatchRequest(
        custom_id=custom_id,
        model=config.model_id,
        system=cached_system(static.text),
        user_text=text,
        schema=static.schema,
        max_tokens=config.max_tokens,
    )


def prediction_from_claude(
    *, result: LlmCall | LlmError, text: str, config: ClassifierSettings, local: LocalModel | None
) -> MadePrediction:
    """Claude's answer checked against the live taxonomy and routed; on failure the local fallback, if on."""
    call = result if isinstance(result, LlmCall) else result.call
    try:
        if isinstance(result, LlmError):
            raise result
        output = output_parse(result, ClassifierOutput)
        intent = Intent.objects.filter(key=output.intent, parent__isnull=True, active=True).first()
        if intent is None:
            raise LlmInvalidOutput(f"Unknown or inactive intent {output.intent!r}.", call=call)
        if output.sub_intent and not intent.sub_intents.filter(key=output.sub_intent, active=True).exists():
            raise LlmInvalidOutput(
                f"Sub-intent {output.sub_intent!r} does not belong to {intent.key!r}.", call=call
            )
    except LlmError as exc:
        fallback = None
        if local is not None and config.local_fallback and exc.reason != LlmFailure.REFUSAL:
            fallback = prediction_local(
                text=text, config=config, local=local, threshold=config.local_fallback_threshold
            )
        if fallback is None:
            return _failed("claude", exc.reason, str(exc), call)
        route, reason = (fallback.route, "") if fallback.route == "auto" else ("triage", exc.reason)
        return dataclasses.replace(
            fallback, route=route, reason=reason, error=str(exc)[:1000], **_spend(call)
        )
    route, reason = _routed(intent, output.confidence, config, None)
    return MadePrediction(
        intent=intent.key,
        sub_intent=output.sub_intent or "",
        confidence=output.confidence,
        sub_intent_confidence=output.confidence if output.sub_intent else None,
        route=route,
        reason=reason,
        provider="claude",
        entities=output.entities.model_dump(),
        **_spend(call),
    )


def cascade_settles(prediction: MadePrediction | None, config: ClassifierSettings) -> bool:
    """In a cascade, the local answer stands (Claude is not asked) at or above the cascade threshold."""
    return prediction is not None and (prediction.confidence or 0) >= float(config.local_cascade_threshold)


def prediction_make(
    *,
    conversation: Conversation,
    config: ClassifierSettings,
    provider: str,
    local: LocalModel | None,
    static: StaticPrompt | None = None,
) -> MadePrediction:
    """What `provider` (local, claude or cascade) would decide for `conversation` now, saving nothing."""
    text = prediction_text(conversation=conversation, config=config)
    if provider in ("local", "cascade"):
        answer = prediction_local(text=text, config=config, local=local) if local else None
        if provider == "local" or cascade_settles(answer, config):
            if answer is None:
                return _failed(
                    "local", RouteReason.NO_CLASSIFIER, "No active local classifier knows these intents."
                )
            return answer
    if not llm_configured():
        return _failed("claude", RouteReason.NO_CLASSIFIER, "No ANTHROPIC_API_KEY.")
    static = static or static_prompt_build(config)
    try:
        result: LlmCall | LlmError = structured_call(
            model=config.model_id,
            system=cached_system(static.text),
            user_text=text,
            schema=static.schema,
            max_tokens=config.max_tokens,
        )
    except LlmError as exc:
        result = exc
    return prediction_from_claude(result=result, text=text, config=config, local=local)
