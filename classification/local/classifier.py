"""The trained local classifier: prediction with calibrated confidence, and its stored artifact."""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import sklearn
from scipy.special import log_softmax

from .calibration import Calibration, calibration_inputs
from .encoder import EncoderError, encoder_load
from .features import Features, new_word_shares

ARTIFACT_MAX_BYTES = 50_000_000


class LocalModelError(ValueError):
    """Training data, a file or an artifact the local classifier cannot use; the message says why."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # calibrated probability that `label` is right, lowered for unfamiliar text
    runner_up: str | None
    runner_up_probability: float
    new_word_share: float  # share of the message's content words the model never saw in training


class LocalClassifier:
    """A linear SVM over TF-IDF features with calibrated confidence and a new-words gate."""

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
        self.features = features
        # Stored features x labels, contiguous: a message's few non-zero features then read whole rows
        # (coef.T would make the product copy the whole matrix on every call).
        self.weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.embedding_weights = np.ascontiguousarray(embedding_coef.T, dtype=np.float32)
        self.intercept = intercept.astype(np.float32)
        self.labels = labels
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

    def new_word_shares(self, texts: Sequence[str]) -> np.ndarray:
        return new_word_shares(texts, self.known_words)

    def confidences(self, scores: np.ndarray, new_words: np.ndarray) -> np.ndarray:
        """Calibrated probability of the top label, times a gate that closes as new words pile up.

        Calibration is learnt from in-scope mistakes only, and a message about something else
        entirely can still score high on one stray word ("blocked"); its many unknown words are
        what gives it away.
        """
        cal = self.calibration
        inputs = calibration_inputs(scores, cal.temperature)
        if cal.weights is None:
            probability = np.exp(inputs[:, 0])
        else:
            probability = 1 / (1 + np.exp(-(cal.bias + inputs @ np.array(cal.weights))))
        gate = np.clip((1 - new_words) / (1 - cal.new_word_allowance), 0, 1) ** 2
        return probability * gate

    def predict_many(self, texts: Sequence[str], allowed: Iterable[str] | None = None) -> list[Prediction]:
        """Best label per text; with `allowed`, only those labels compete (the rest of the taxonomy)."""
        scores = self.scores(texts)
        if allowed is not None:
            allowed = set(allowed)
            mask = np.array([label not in allowed for label in self.labels])
            if mask.all():
                raise LocalModelError("None of the model's labels is allowed.")
            # Far below any real score, but finite so that gaps and softmax stay defined.
            scores[:, mask] = scores.min() - 1000
        new_words = self.new_word_shares(texts)
        confidence = self.confidences(scores, new_words)
        probabilities = np.exp(log_softmax(scores / self.calibration.temperature, axis=1))
        order = np.argsort(-scores, axis=1)
        predictions = []
        for row, (first, second) in enumerate(order[:, :2]):
            predictions.append(
                Prediction(
                    label=self.labels[first],
                    confidence=float(confidence[row]),
                    runner_up=self.labels[second],
                    runner_up_probability=float(probabilities[row, second]),
                    new_word_share=float(new_words[row]),
                )
            )
        return predictions

    def predict(self, text: str, allowed: Iterable[str] | None = None) -> Prediction:
        return self.predict_many([text], allowed)[0]


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
