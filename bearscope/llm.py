"""The only module that imports the anthropic SDK: structured calls, caching, usage, cost, errors."""

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import anthropic
import pydantic
from django.conf import settings
from django.db import models

from .exceptions import BearScopeError

logger = logging.getLogger(__name__)

# USD per million tokens: (input, output, cache read). Cache writes cost 1.25x input (5-minute TTL).
# Keep in step with Anthropic's published prices; unknown models cost as the dearest listed.
PRICES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "claude-haiku-5-5": (Decimal("0.10"), Decimal("0.50"), Decimal("0.01")),
    "claude-haiku-4-5": (Decimal("1"), Decimal("5"), Decimal("0.10")),
    "claude-sonnet-4-6": (Decimal("3"), Decimal("15"), Decimal("0.30")),
    "claude-sonnet-5-5": (Decimal("2"), Decimal("10"), Decimal("0.10")),
}
CACHE_WRITE_FACTOR = Decimal("1.25")
BATCH_FACTOR = Decimal("0.5")  # Message Batches cost half
MILLION = Decimal(1_000_000)

OutputT = TypeVar("OutputT", bound=pydantic.BaseModel)


class LlmFailure(models.TextChoices):
    """Why a Claude call gave no usable answer; stored with the result (a triage reason)."""

    CLASSIFIER_ERROR = "classifier_error", "Claude unavailable or refused the request"
    REFUSAL = "refusal", "Claude declined to answer"
    TRUNCATED_OUTPUT = "truncated_output", "Answer cut off"
    INVALID_OUTPUT = "invalid_output", "Answer did not match the schema or the taxonomy"


class LlmError(BearScopeError):
    """A Claude call did not give a usable answer. `reason` is a short code stored with the result."""

    reason = LlmFailure.CLASSIFIER_ERROR

    def __init__(self, message: str, *, call: "LlmCall | None" = None) -> None:
        super().__init__(message)
        self.call = call


class LlmUnavailable(LlmError):
    """Connection failure, timeout, 429/5xx/529 after the SDK's bounded retries."""


class LlmConfigurationError(LlmError):
    """No key, a wrong key, or a request Claude refuses as malformed (400/401/403/404)."""


class LlmRefused(LlmError):
    reason = LlmFailure.REFUSAL


class LlmTruncated(LlmError):
    reason = LlmFailure.TRUNCATED_OUTPUT


class LlmInvalidOutput(LlmError):
    reason = LlmFailure.INVALID_OUTPUT


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0


@dataclass
class LlmCall:
    """What one call cost and returned; kept even when the answer is then rejected."""

    model: str
    text: str = ""
    stop_reason: str = ""
    request_id: str = ""
    latency_ms: int = 0
    usage: Usage = field(default_factory=Usage)
    batch: bool = False

    @property
    def cost_usd(self) -> Decimal:
        cost = cost_usd(self.model, self.usage)
        return cost * BATCH_FACTOR if self.batch else cost


def cost_usd(model: str, usage: Usage) -> Decimal:
    price_in, price_out, price_cache_read = PRICES.get(model, max(PRICES.values()))
    total = (
        usage.input_tokens * price_in
        + usage.output_tokens * price_out
        + usage.cache_read_tokens * price_cache_read
        + usage.cache_creation_tokens * price_in * CACHE_WRITE_FACTOR
    )
    return total / MILLION


def price_list() -> str:
    """The price table in words, for the admin's model fields."""
    return "; ".join(
        f"{model} ${p_in} / ${p_out} / ${p_cache}" for model, (p_in, p_out, p_cache) in PRICES.items()
    ) + " (USD per million tokens: input / output / cache read)"


def llm_configured() -> bool:
    return bool(settings.ANTHROPIC_API_KEY)


_clients: dict[tuple, anthropic.Anthropic] = {}


def _client() -> anthropic.Anthropic:
    """One SDK client per process and configuration; retries and timeout bounded by settings."""
    key = (
        os.getpid(),
        settings.ANTHROPIC_API_KEY,
        settings.ANTHROPIC_BASE_URL,
        settings.LLM_TIMEOUT_SECONDS,
        settings.LLM_MAX_RETRIES,
    )
    if key not in _clients:
        _clients[key] = anthropic.Anthropic(
            api_key=settings.ANTHROPIC_API_KEY,
            base_url=settings.ANTHROPIC_BASE_URL or None,
            max_retries=settings.LLM_MAX_RETRIES,
            timeout=settings.LLM_TIMEOUT_SECONDS,
        )
    return _clients[key]


def cached_system(static_text: str) -> list[dict[str, Any]]:
    """The static prompt as one system block marked for prompt caching (it must come first)."""
    return [{"type": "text", "text": static_text, "cache_control": {"type": "ephemeral"}}]


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """SDK exceptions as LlmUnavailable (worth retrying later) or LlmConfigurationError."""
    try:
        yield
    except (anthropic.APIConnectionError, anthropic.RateLimitError, anthropic.InternalServerError) as exc:
        raise LlmUnavailable(f"Claude unavailable: {exc.__class__.__name__}: {exc}") from exc
    except anthropic.APIStatusError as exc:
        if exc.status_code >= 500 or exc.status_code in (408, 409, 429):
            raise LlmUnavailable(f"Claude unavailable: {exc.status_code} {exc}") from exc
        raise LlmConfigurationError(f"Claude refused the request: {exc.status_code} {exc}") from exc


def _request_params(
    *, model: str, system: list[dict[str, Any]], user_text: str, schema: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": system,
        "messages": [{"role": "user", "content": user_text}],
        # transform_schema drops keywords the API rejects (it folds them into descriptions).
        "output_config": {"format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}},
    }


def _call_from(response: Any, model: str, *, latency_ms: int = 0, batch: bool = False) -> LlmCall:
    usage = response.usage
    return LlmCall(
        model=model,
        text="".join(block.text for block in response.content if getattr(block, "type", "") == "text"),
        stop_reason=response.stop_reason or "",
        request_id=getattr(response, "_request_id", "") or getattr(response, "id", "") or "",
        latency_ms=latency_ms,
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_creation_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
        ),
        batch=batch,
    )


def structured_call(
    *, model: str, system: list[dict[str, Any]], user_text: str, schema: dict[str, Any], max_tokens: int
) -> LlmCall:
    """Ask Claude for JSON matching `schema`; raises LlmUnavailable or LlmConfigurationError."""
    if not llm_configured():
        raise LlmConfigurationError("ANTHROPIC_API_KEY is not set.")
    started = time.monotonic()
    with _mapped_errors():
        response = _client().messages.create(
            **_request_params(
                model=model, system=system, user_text=user_text, schema=schema, max_tokens=max_tokens
            )
        )
    return _call_from(response, model, latency_ms=int((time.monotonic() - started) * 1000))


@dataclass(frozen=True)
class BatchRequest:
    """One structured call of a Message Batch; `custom_id` comes back with its result."""

    custom_id: str
    model: str
    system: list[dict[str, Any]]
    user_text: str
    schema: dict[str, Any]
    max_tokens: int


def batch_submit(*, requests: Sequence[BatchRequest]) -> str:
    """Create a Message Batch (half price, results within 24 h); returns its id."""
    if not llm_configured():
        raise LlmConfigurationError("ANTHROPIC_API_KEY is not set.")
    with _mapped_errors():
        batch = _client().messages.batches.create(
            requests=[
                {
                    "custom_id": r.custom_id,
                    "params": _request_params(
                        model=r.model,
                        system=r.system,
                        user_text=r.user_text,
                        schema=r.schema,
                        max_tokens=r.max_tokens,
                    ),
                }
                for r in requests
            ]
        )
    return batch.id


def batch_ended(*, batch_id: str) -> bool:
    with _mapped_errors():
        return _client().messages.batches.retrieve(batch_id).processing_status == "ended"


def batch_results(*, batch_id: str) -> Iterator[tuple[str, LlmCall | LlmError]]:
    """(custom_id, call) for each succeeded request, (custom_id, LlmError) for the others."""
    with _mapped_errors():
        results = list(_client().messages.batches.results(batch_id))
    for item in results:
        result = item.result
        if result.type == "succeeded":
            yield item.custom_id, _call_from(result.message, result.message.model, batch=True)
        elif result.type == "errored":
            yield item.custom_id, LlmUnavailable(f"Batch request errored: {result.error}")
        else:
            yield item.custom_id, LlmUnavailable(f"Batch request {result.type}.")


def output_schema(
    output_model: type[pydantic.BaseModel], *, enums: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The JSON Schema structured output asks for, generated from `output_model` (its one home).

    Every property is required and no other is allowed (the API's structured output wants both);
    references are inlined. `enums` narrows string fields to the live keys by dotted path
    ("intent", "entities.language"): a nullable field keeps null, and an empty list leaves a
    plain string (or only null) so a request never carries an empty enum.
    """
    schema = output_model.model_json_schema(mode="serialization")
    definitions = schema.pop("$defs", {})
    schema.pop("description", None)  # the class docstring is for us, not the model

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return clean(definitions[node["$ref"].rsplit("/", 1)[-1]])
        node = {k: clean(v) for k, v in node.items() if k not in ("title", "default")}
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        return node

    schema = clean(schema)
    for path, values in (enums or {}).items():
        parent = schema
        *parents, name = path.split(".")
        for part in parents:
            parent = parent["properties"][part]
        field = parent["properties"][name]
        nullable = any(branch.get("type") == "null" for branch in field.get("anyOf", []))
        described = {"description": field["description"]} if "description" in field else {}
        if values:
            narrowed = {"type": "string", "enum": list(values)}
            field = {"anyOf": [narrowed, {"type": "null"}]} if nullable else narrowed
        else:
            field = {"type": "null"} if nullable else {"type": "string"}
        parent["properties"][name] = {**field, **described}
    return schema


def output_parse(call: LlmCall, output_model: type[OutputT]) -> OutputT:
    """The call's JSON validated against `output_model`; refusals, truncation and bad JSON raise."""
    if call.stop_reason == "refusal":
        raise LlmRefused("Claude declined to answer.", call=call)
    if call.stop_reason == "max_tokens":
        raise LlmTruncated("The answer was cut off at max_tokens.", call=call)
    try:
        return output_model.model_validate(json.loads(call.text))
    except (ValueError, pydantic.ValidationError) as exc:
        # pydantic's ValidationError is a ValueError; json errors are too. Keep the first line only.
        raise LlmInvalidOutput(
            f"Answer does not match the schema: {str(exc).splitlines()[0]}", call=call
        ) from exc
