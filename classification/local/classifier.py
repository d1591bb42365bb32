"""The trained local classifier: prediction with calibrated confidence, and its stored artifact."""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import sklearn

from bearscope.exceptions import BearScopeError

from ..wording import MEANINGFUL_WORDS_DEFAULT, meaningful_word_count
from .calibration import Calibration, Choice, choose, probability
from .encoder import EncoderError, encoder_load
from .features import Features, new_word_shares

ARTIFACT_MAX_BYTES = 50_000_000
SEPARATOR = "/"  # labels are intent or intent/sub_intent
# The label of the out-of-scope examples: trained, never answered (not a taxonomy key's shape).
OUT_OF_SCOPE = "(out of scope)"


class LocalModelError(BearScopeError, ValueError):
    """Training data, a file or an artifact the local classifier cannot use; the message says why."""


@dataclass(frozen=True)
class Prediction:
    """The local answer for one message, at two levels: the intent, and the sub-intent within it.

    Contract for the pipeline (every confidence is a calibrated probability of being right, already
    lowered by the gates below):

    - Route automatically when `intent_confidence` reaches the auto-route threshold, with `intent`.
    - Give `sub_intent` only when `sub_intent_confidence` reaches that threshold too; otherwise
      leave the sub-intent empty and say so ("sub-intent not confident: `sub_intent` at ...").
      `sub_intent_confidence` is *joint*: the probability that the intent and the sub-intent are
      both right, so it is never above `intent_confidence`, and a sub-intent given at 0.90 is
      right at least as often as a whole label routed at 0.90 was before. An auto-reply policy on
      a sub-intent (WISMO: shipping_issue/status at 0.95) compares its threshold with it.
    - `sub_intent` is empty when the best label of the intent is the intent alone (a message that
      fits none of its sub-intents) or the intent has none; `sub_intent_confidence` is then 0.
    - `label` and `confidence` are the best full label (`intent` or `intent/sub_intent`) and the
      probability that it is right, as before: `confidence` equals `sub_intent_confidence` when
      there is a sub-intent, else the probability that the intent alone is the right label.

    Gates: `intent_confidence` (and so the others) is multiplied by ((1 - share of new words) /
    (1 - allowance))² clipped to [0, 1] (words the training data never had: off-topic text), and by
    (meaningful words / minimum)² when the message has fewer than the minimum (ClassifierSettings) of
    meaningful words (classification.wording: "Hi", "HEY HO!", "thanks" have none). A message with
    too few meaningful words (under the default minimum of 3) therefore never routes at a threshold
    above 0.44.
    """

    label: str
    confidence: float
    intent: str
    intent_confidence: float
    sub_intent: str
    sub_intent_confidence: float
    runner_up: str | None  # the best other full label, and its (uncalibrated) softmax probability
    runner_up_probability: float
    new_word_share: float  # share of the message's content words the model never saw in training
    meaningful_words: int  # classification.wording.meaningful_word_count of the message


@dataclass(frozen=True)
class Decision:
    choice: Choice
    intent_confidence: np.ndarray
    label_confidence: np.ndarray


class LocalClassifier:
    """A linear SVM over TF-IDF features and a sentence embedding, with calibrated confidence of the
    intent and of the label, a new-words gate and a meaningful-words gate."""

    # Bumped when what an artifact holds changes; an older artifact is refused (train a new version).
    FORMAT = 2

    def __init__(
        self,
        *,
        features: Features,
        coef: np.ndarray,
        embedding_coef: np.ndarray,
        intercept: np.ndarray,
        labels: list[str],
        known_words: frozenset[str],
        calibration: Calibration,
        encoder_id: str,
    ) -> None:
        self.format = self.FORMAT
        self.features = features
        # Stored features x labels, contiguous: a message's few non-zero features then read whole rows
        # (coef.T would make the product copy the whole matrix on every call).
        self.weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.embedding_weights = np.ascontiguousarray(embedding_coef.T, dtype=np.float32)
        self.intercept = intercept.astype(np.float32)
        self.labels = labels
        self.intents, self.label_intent = label_intents(labels)
        self.answerable = answerable(self.intents)
        self.known_words = known_words
        self.calibration = calibration
        # The embedding columns mean something only to the encoder that made them.
        self.encoder_id = encoder_id

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        # The vectorizers' parameters were checked when fitted and counts are always finite.
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            matrix = self.features.transform(texts)
        embeddings = encoder_load().embed(texts)
        return np.asarray(matrix @ self.weights) + embeddings @ self.embedding_weights + self.intercept

    def decide(
        self,
        scores: np.ndarray,
        new_words: np.ndarray,
        meaningful: np.ndarray,
        minimum: int = MEANINGFUL_WORDS_DEFAULT,
    ) -> Decision:
        """The best intent and label per message with their gated, calibrated confidences.

        A message about something else entirely can still score high on one stray word ("blocked")
        when it resembles none of the out-of-scope examples either; its many unknown words are what
        gives it away. A greeting alone has familiar words and no request: the meaningful-words gate
        catches it.
        """
        cal = self.calibration
        choice = choose(scores, cal.temperature, self.label_intent, self.answerable)
        intent = probability(choice.intent_inputs, cal.intent_weights, cal.intent_bias)
        label = np.minimum(probability(choice.label_inputs, cal.weights, cal.bias), intent)
        new_word_gate = np.clip((1 - new_words) / (1 - cal.new_word_allowance), 0, 1) ** 2
        wording_gate = np.minimum(meaningful / minimum, 1) ** 2 if minimum else np.ones(len(meaningful))
        gate = new_word_gate * wording_gate
        return Decision(choice=choice, intent_confidence=intent * gate, label_confidence=label * gate)

    def predict_many(
        self,
        texts: Sequence[str],
        allowed: Iterable[str] | None = None,
        *,
        meaningful_min: int = MEANINGFUL_WORDS_DEFAULT,
    ) -> list[Prediction]:
        """Best intent and label per text; with `allowed`, only those labels compete (the rest of the
        taxonomy)."""
        scores = self.scores(texts)
        if allowed is not None:
            allowed = set(allowed)
            mask = np.array([label not in allowed and label != OUT_OF_SCOPE for label in self.labels])
            if all(mask[n] for n, label in enumerate(self.labels) if label != OUT_OF_SCOPE):
                raise LocalModelError("None of the model's labels is allowed.")
            # Far below any real score, but finite so that gaps and softmax stay defined.
            scores[:, mask] = scores.min() - 1000
        new_words = new_word_shares(texts, self.known_words)
        meaningful = np.array([meaningful_word_count(text) for text in texts])
        decision = self.decide(scores, new_words, meaningful, meaningful_min)
        runner_up_scores = scores.copy()
        runner_up_scores[np.arange(len(texts)), decision.choice.label] = -np.inf
        runner_up_scores[:, ~self.answerable[self.label_intent]] = -np.inf
        runner_up = runner_up_scores.argmax(axis=1)
        predictions = []
        for row, label_index in enumerate(decision.choice.label):
            label = self.labels[label_index]
            intent, _, sub_intent = label.partition(SEPARATOR)
            confidence = float(decision.label_confidence[row])
            predictions.append(
                Prediction(
                    label=label,
                    confidence=confidence,
                    intent=intent,
                    intent_confidence=float(decision.intent_confidence[row]),
                    sub_intent=sub_intent,
                    sub_intent_confidence=confidence if sub_intent else 0.0,
                    runner_up=self.labels[runner_up[row]],
                    runner_up_probability=float(decision.choice.probabilities[row, runner_up[row]]),
                    new_word_share=float(new_words[row]),
                    meaningful_words=int(meaningful[row]),
                )
            )
        return predictions

    def predict(
        self,
        text: str,
        allowed: Iterable[str] | None = None,
        *,
        meaningful_min: int = MEANINGFUL_WORDS_DEFAULT,
    ) -> Prediction:
        return self.predict_many([text], allowed, meaningful_min=meaningful_min)[0]


def answerable(intents: Sequence[str]) -> np.ndarray:
    return np.array([intent != OUT_OF_SCOPE for intent in intents])


def label_intents(labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The intents of `labels` (intent or intent/sub_intent), and each label's intent's index."""
    intents = sorted({label.partition(SEPARATOR)[0] for label in labels})
    index = {intent: n for n, intent in enumerate(intents)}
    return intents, np.array([index[label.partition(SEPARATOR)[0]] for label in labels])


def artifact_dump(model: LocalClassifier, *, max_bytes: int = ARTIFACT_MAX_BYTES) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    data = buffer.getvalue()
    if len(data) > max_bytes:
        raise LocalModelError(
            f"The trained model is {len(data) / 1e6:.1f} MB, above the {max_bytes / 1e6:.0f} MB limit; "
            "train on fewer or shorter examples."
        )
    return data


def artifact_load(data: bytes) -> LocalClassifier:
    # Unpickling runs code: artifacts are written only by classifier_train into our own database,
    # so they are as trusted as the code itself. Never load one from anywhere else.
    model = joblib.load(io.BytesIO(bytes(data)))
    if not isinstance(model, LocalClassifier):
        raise LocalModelError("The artifact is not a local classifier.")
    if getattr(model, "format", 1) != LocalClassifier.FORMAT:
        raise LocalModelError(
            "The model was trained by an older BearScope (no intent-level confidence); train a new version."
        )
    try:
        installed = encoder_load().id
    except EncoderError as exc:
        raise LocalModelError(str(exc)) from exc
    trained_with = getattr(model, "encoder_id", None)
    if trained_with != installed:
        raise LocalModelError(
            f"The model was trained with the sentence encoder {trained_with or '(none)'}, but this "
            f"installation has {installed}; train a new version."
        )
    return model
