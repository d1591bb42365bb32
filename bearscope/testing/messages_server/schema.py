"""Schema-driven answers: a valid instance of the JSON schema a request asks for."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .steps import DEFAULT_TEXT, Reply, reply_json

# `anthropic.transform_schema` moves constraints the API does not support (minimum, maxLength, ...)
# into the description as "{minimum: 0, maximum: 1}", so they are read back from there too.
_CONSTRAINT_KEYS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
_DESCRIPTION_CONSTRAINT = re.compile(
    r"\b(" + "|".join(_CONSTRAINT_KEYS) + r")\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
)
_CONFIDENCE_NAME = re.compile(r"confidence|probability|certainty|likelihood|score", re.IGNORECASE)
_FORMAT_EXAMPLES = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "duration": "P1D",
    "email": "customer@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_WORD = "example"


def output_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks the reply to match (`output_config.format.schema`), if any."""
    output_config = body.get("output_config")
    if not isinstance(output_config, Mapping):
        return None
    fmt = output_config.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    return None


def _constraints(schema: Mapping[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    description = schema.get("description")
    if isinstance(description, str):
        for key, value in _DESCRIPTION_CONSTRAINT.findall(description):
            found[key] = float(value)
    for key in _CONSTRAINT_KEYS:
        value = schema.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = float(value)
    return found


def _resolve(schema: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    # Follows local refs such as "#/$defs/Order" (how pydantic emits nested models and enums).
    seen: set[str] = set()
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen or not ref.startswith("#"):
            return {}
        seen.add(ref)
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **siblings} if isinstance(target, Mapping) else {}
    return dict(schema) if isinstance(schema, Mapping) else {}


def _number(name: str, limits: Mapping[str, float], integer: bool) -> float | int:
    low = limits.get("minimum")
    high = limits.get("maximum")
    low_x = limits.get("exclusiveMinimum")
    high_x = limits.get("exclusiveMaximum")

    def allowed(value: float) -> bool:
        return (
            (low is None or value >= low)
            and (high is None or value <= high)
            and (low_x is None or value > low_x)
            and (high_x is None or value < high_x)
        )

    bottom = low if low is not None else low_x
    top = high if high is not None else high_x
    candidates: list[float] = []
    if _CONFIDENCE_NAME.search(name):
        # Classifiers are usually confident in tests; 95 for 0-100 integer scales.
        candidates.append(95 if integer else 0.95)
    candidates.append(0)
    if bottom is not None:
        candidates += [bottom, bottom + 1]
    if top is not None:
        candidates += [top, top - 1]
    if bottom is not None and top is not None:
        candidates.append((bottom + top) / 2)
    for candidate in candidates:
        value = math.floor(candidate) if integer else candidate
        if allowed(value):
            return int(value) if integer else float(value)
    return int(bottom or 0) if integer else float(bottom or 0)


def _string(schema: Mapping[str, Any], limits: Mapping[str, float]) -> str:
    fmt = schema.get("format")
    text = _FORMAT_EXAMPLES.get(fmt, _WORD) if isinstance(fmt, str) else _WORD
    min_length = int(limits.get("minLength", 0))
    max_length = limits.get("maxLength")
    if len(text) < min_length:
        text = (text * (min_length // max(len(text), 1) + 1))[:min_length]
    if max_length is not None:
        text = text[: int(max_length)]
    return text


def _example(
    schema: Any,
    root: Mapping[str, Any],
    name: str,
    prefer: Mapping[str, Sequence[Any]],
    depth: int,
) -> Any:
    if depth > 32:  # a recursive model: stop with the most permissive value
        return None
    node = _resolve(schema, root)
    if isinstance(node.get("allOf"), list):
        merged: dict[str, Any] = {key: value for key, value in node.items() if key != "allOf"}
        for part in node["allOf"]:
            merged.update(_resolve(part, root))
        node = merged
    candidates = prefer.get(name, ())

    if "const" in node:
        return node["const"]
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return next((value for value in candidates if value in enum), enum[0])

    variants = node.get("anyOf") or node.get("oneOf")
    if isinstance(variants, list) and variants:
        resolved = [_resolve(variant, root) for variant in variants]
        for variant in resolved:
            if candidates and any(value in (variant.get("enum") or ()) for value in candidates):
                return _example(variant, root, name, prefer, depth + 1)
        if any(variant.get("type") == "null" for variant in resolved):
            return None
        return _example(resolved[0], root, name, prefer, depth + 1)

    type_ = node.get("type")
    if isinstance(type_, list):
        if "null" in type_:
            return None
        type_ = type_[0] if type_ else None
    limits = _constraints(node)

    if type_ == "object" or (type_ is None and "properties" in node):
        properties = node.get("properties") or {}
        # Every property, not only the required ones: always valid, and closer to what a model writes.
        return {key: _example(value, root, key, prefer, depth + 1) for key, value in properties.items()}
    if type_ == "array":
        count = int(limits.get("minItems", 0))
        return [_example(node.get("items", {}), root, name, prefer, depth + 1) for _ in range(count)]
    if type_ == "string":
        return _string(node, limits)
    if type_ in ("integer", "number"):
        return _number(name, limits, integer=type_ == "integer")
    if type_ == "boolean":
        return False
    return None


def example_for_schema(
    schema: Mapping[str, Any], *, prefer: Mapping[str, Sequence[Any]] | None = None
) -> Any:
    """A valid instance of `schema`: first enum values, in-range numbers (confidence-like -> 0.95),
    "example" strings, false, null for nullables, empty arrays. `prefer` maps a property name to
    values to use instead when the property's enum allows one of them."""
    return _example(schema, schema, "", prefer or {}, 0)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block.get("text", "")
            for block in content
            if isinstance(block, Mapping) and block.get("type") == "text"
        )
    return ""


def _last_user_text(body: Mapping[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def schema_responder(
    body: Mapping[str, Any],
    *,
    keyword_intents: Mapping[str, str] | None = None,
    keyword_field: str = "intent",
) -> Reply:
    """The default answer: a valid instance of the requested JSON schema, or DEFAULT_TEXT without one.

    With `keyword_intents` ({"where is my order": "order_status"}), the `keyword_field` property
    takes the intent of the first keyword found (case-insensitively) in the last user message,
    when the property's enum allows it.
    """
    schema = output_schema(body)
    if schema is None:
        return Reply(DEFAULT_TEXT)
    prefer: dict[str, list[Any]] = {}
    if keyword_intents:
        text = _last_user_text(body).lower()
        matches = [intent for keyword, intent in keyword_intents.items() if keyword.lower() in text]
        if matches:
            prefer[keyword_field] = matches
    return reply_json(example_for_schema(schema, prefer=prefer))
