"""The local classifier's answer as a classification: its prediction among the active labels, applied."""

import dataclasses
import json
import re
import time
from decimal import Decimal

from ..local.model import LocalClassifier, LocalModelError, Prediction
from ..local.services import local_text, taxonomy_labels
from ..models import (
    Classification,
    ClassifierSettings,
    ComplexityLevel,
    Intent,
    LocalModelVersion,
    PriorityLevel,
)
from .routing import threshold_for

# Best effort for the local classifier, which extracts nothing: order numbers like BS-100234.
ORDER_NUMBER = re.compile(r"\b[A-Z]{1,5}-?\d{4,12}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

LocalModel = tuple[LocalModelVersion, LocalClassifier]


def local_predict(classification: Classification, local: LocalModel) -> Prediction | None:
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


def local_answer_apply(
    classification: Classification,
    version: LocalModelVersion,
    prediction: Prediction,
    *,
    config: ClassifierSettings,
    threshold: Decimal | None = None,
    keep_raw_output: bool = False,
) -> None:
    """The local answer as the result: decided at the intent level, with the sub-intent only when it
    is confident too (at the routing threshold); priority and complexity from the taxonomy's defaults."""
    # The labels are the active taxonomy's (the prediction was limited to them).
    intents = Intent.objects.select_related("default_priority", "default_complexity")
    intent = intents.get(key=prediction.intent, parent__isnull=True)
    if threshold is None:
        threshold = threshold_for(intent, config)
    sub_confident = bool(prediction.sub_intent) and prediction.sub_intent_confidence >= float(threshold)
    sub = intents.get(key=prediction.sub_intent, parent=intent) if sub_confident else None
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
    classification.confidence = round(prediction.intent_confidence, 4)
    classification.sub_intent_confidence = round(prediction.sub_intent_confidence, 4) if sub else None
    text = local_text(classification.prompt_input)
    orders, emails = ORDER_NUMBER.findall(text), EMAIL.findall(text)
    classification.entities = {
        "order_number": orders[0] if orders else None,
        "email": emails[0] if emails else None,
        "language": None,
    }
    classification.rationale = _rationale(version, prediction, sub_confident=sub_confident)
    classification.provider = "local"
    classification.model_id = f"local-v{version.pk}"
    if not keep_raw_output:
        classification.raw_output = json.dumps(dataclasses.asdict(prediction))


def _rationale(version: LocalModelVersion, prediction: Prediction, *, sub_confident: bool) -> str:
    rationale = (
        f"Local classifier v{version.pk}: intent {prediction.intent} at {prediction.intent_confidence:.2f}"
    )
    if sub_confident:
        rationale += f", sub-intent {prediction.sub_intent} at {prediction.sub_intent_confidence:.2f}."
    elif prediction.sub_intent:
        # Said plainly: the empty sub-intent is a decision, not a gap.
        rationale += (
            f"; sub-intent not confident: {prediction.sub_intent} at {prediction.sub_intent_confidence:.2f}, "
            "so it is left empty."
        )
    else:
        rationale += "; no sub-intent fits."
    rationale += f" Runner-up {prediction.runner_up} ({prediction.runner_up_probability:.2f})."
    if prediction.new_word_share >= 0.3:
        rationale += f" {prediction.new_word_share:.0%} of the message's words are new to it."
    return rationale
