"""The local classifier's answer as a classification: its prediction among the active labels, applied."""

import dataclasses
import json
import re
import time

from ..local.language import language_detect
from ..local.model import LocalClassifier, LocalModelError, Prediction
from ..local.sentiment import sentiment_detect
from ..local.services import SEPARATOR, local_text, taxonomy_labels
from ..models import Classification, ComplexityLevel, Intent, LocalModelVersion, PriorityLevel

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
    }
    local_signals_apply(classification, text)
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


def local_signals_apply(classification: Classification, text: str) -> None:
    """The customer's language and sentiment, guessed offline (docs/language-and-sentiment.md)."""
    language = language_detect(text).code
    classification.language = language or ""
    classification.sentiment = sentiment_detect(text, language).label
