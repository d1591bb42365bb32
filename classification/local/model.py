"""The local classifier itself: features, training with cross-validated calibration, prediction, artifact."""

import csv
import dataclasses
import io
import itertools
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from .encoder import DIMENSIONS, EncoderError, encoder_load

ARTIFACT_MAX_BYTES = 50_000_000
THRESHOLDS = tuple(round(0.5 + 0.05 * n, 2) for n in range(10))
# Out-of-fold scores for the calibration: with the final fit that makes four fits, two per core
# (five folds took 21 s longer to train on BANKING77 and calibrated no better: same cascade figures).
FOLDS = 3
SVM_C = 0.5
# Scale of the sentence embedding beside the TF-IDF columns (both unit length per message): how
# much the SVM's regularisation lets meaning count against wording. Tuned on BANKING77.
EMBEDDING_WEIGHT = 2.0
TEXT_COLUMNS = ("text", "message", "body")
LABEL_COLUMNS = ("label", "category", "intent")
# Words that say nothing about intent on their own: they form no pairs and are never "new words".
_STOP_WORDS = (
    "a am an and are as at be but by can do for from has have how i if in is it me my of on or our "
    "so that the their them there they this to was we what why with you your hi hello hey please thanks thank"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())
TOKEN = re.compile(r"[a-z0-9]+")


class LocalModelError(ValueError):
    """Training data, a file or an artifact the local classifier cannot use; the message says why."""


def content_words(text: str) -> list[str]:
    return [w for w in TOKEN.findall(text.lower()) if w not in STOP_WORDS and not w.isdigit()]


class WordPairs:
    """Analyzer: unordered pairs of content-word prefixes.

    Intent lives in which words occur together more than in their order: "card never arrived" and
    "arrival of my new card" share the pair card|arri.
    """

    def __init__(self, prefix: int = 4) -> None:
        self.prefix = prefix

    def __call__(self, text: str) -> list[str]:
        stems = sorted({w[: self.prefix] for w in content_words(text)})
        return [f"{a}|{b}" for a, b in itertools.combinations(stems, 2)]


class Features:
    """TF-IDF of word 1-2-grams, character 2-5-grams within words, and word pairs, side by side.

    The sentence embedding joins them as further columns (see `_with_embeddings`); it is computed
    once per message, not per cross-validation fold, so it is not part of this class.
    """

    def __init__(self, n_examples: int) -> None:
        # Rare n-grams only cost memory on a large set; on a small one they are most of what there is.
        min_df = 2 if n_examples >= 2000 else 1
        self.vectorizers = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, dtype=np.float32),
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df, dtype=np.float32
            ),
            TfidfVectorizer(analyzer=WordPairs(), sublinear_tf=True, min_df=min_df, dtype=np.float32),
        ]

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        matrix = sp.hstack([v.fit_transform(texts) for v in self.vectorizers]).tocsr()
        for vectorizer in self.vectorizers:
            # Only for introspection, and it grows with the data (sklearn's own advice is to drop it).
            vectorizer.stop_words_ = None
        return matrix

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The fitted TF-IDF, computed from the counts as TfidfVectorizer would (sublinear tf, idf,
        unit length) without its input checks: on one message they cost 1 ms at the median and 3 ms
        at p99, a sixth and a quarter of a whole prediction (measured on BANKING77)."""
        parts = []
        for vectorizer in self.vectorizers:
            counts = CountVectorizer.transform(vectorizer, texts).astype(np.float32)
            np.log(counts.data, out=counts.data)
            counts.data += 1
            counts.data *= vectorizer.idf_[counts.indices]
            row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
            lengths = np.sqrt(np.bincount(row, weights=counts.data**2, minlength=counts.shape[0]))
            counts.data /= lengths[row]  # a row with data has a length above zero
            parts.append(counts)
        return sp.hstack(parts).tocsr()

    @property
    def size(self) -> int:
        return sum(len(v.vocabulary_) for v in self.vectorizers)


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # calibrated probability that `label` is right, lowered for unfamiliar text
    runner_up: str | None
    runner_up_probability: float
    new_word_share: float  # share of the message's content words the model never saw in training


@dataclass(frozen=True)
class Calibration:
    """Turns scores into the probability of being right, fitted on out-of-fold predictions."""

    temperature: float
    weights: tuple[float, float] | None  # logistic on (log softmax of the top label, gap to runner-up)
    bias: float
    new_word_allowance: float  # share of new words in-scope messages still show (95th percentile)


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
        inputs = _calibration_inputs(scores, cal.temperature)
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


def new_word_shares(texts: Sequence[str], known: frozenset[str] | set[str]) -> np.ndarray:
    """Per text, the share of content words not seen in training; 1.0 when there are none at all."""
    shares = []
    for text in texts:
        words = content_words(text)
        shares.append(sum(w not in known for w in words) / len(words) if words else 1.0)
    return np.array(shares, dtype=np.float64)


def _with_embeddings(matrix: sp.csr_matrix, embeddings: np.ndarray) -> sp.csr_matrix:
    return sp.hstack([matrix, sp.csr_matrix(EMBEDDING_WEIGHT * embeddings)]).tocsr()


def _linear_fit(
    texts: Sequence[str], embeddings: np.ndarray, y: np.ndarray, n_labels: int
) -> tuple[Features, np.ndarray, np.ndarray, np.ndarray]:
    """Features and a one-vs-rest linear SVM over TF-IDF and embedding columns.

    Coefficients are laid out for all `n_labels`: TF-IDF ones, then the embedding ones already
    multiplied by EMBEDDING_WEIGHT so that raw embeddings can be scored with them.
    """
    features = Features(len(texts))
    matrix = _with_embeddings(features.fit_transform(texts), embeddings)
    svm = LinearSVC(C=SVM_C).fit(matrix, y)
    coef = np.zeros((n_labels, matrix.shape[1]), dtype=np.float32)
    # A label missing from this training fold can never win.
    intercept = np.full(n_labels, -1e3, dtype=np.float32)
    if len(svm.classes_) == 2:  # binary: one score, positive for the second class
        coef[svm.classes_[1]], intercept[svm.classes_[1]] = svm.coef_[0], svm.intercept_[0]
        coef[svm.classes_[0]], intercept[svm.classes_[0]] = -svm.coef_[0], -svm.intercept_[0]
    else:
        coef[svm.classes_], intercept[svm.classes_] = svm.coef_, svm.intercept_
    sparse_columns = matrix.shape[1] - DIMENSIONS
    return features, coef[:, :sparse_columns], EMBEDDING_WEIGHT * coef[:, sparse_columns:], intercept


def _fold(
    texts: list[str],
    embeddings: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    train: np.ndarray,
    test: np.ndarray,
) -> tuple:
    train_texts = [texts[i] for i in train]
    features, coef, embedding_coef, intercept = _linear_fit(
        train_texts, embeddings[train], y[train], n_labels
    )
    test_texts = [texts[i] for i in test]
    scores = (
        np.asarray(features.transform(test_texts) @ coef.T) + embeddings[test] @ embedding_coef.T + intercept
    )
    known = frozenset(w for t in train_texts for w in content_words(t))
    return test, scores, new_word_shares(test_texts, known)


def _calibrate(scores: np.ndarray, new_words: np.ndarray, y: np.ndarray) -> Calibration:
    def nll(temperature: float) -> float:
        return float(-log_softmax(scores / temperature, axis=1)[np.arange(len(y)), y].mean())

    temperature = float(minimize_scalar(nll, bounds=(0.01, 10), method="bounded").x)
    # Clipped: a tiny set must not make every message look familiar, or none.
    allowance = float(np.clip(np.percentile(new_words, 95), 0.2, 0.6))
    calibration = Calibration(temperature=temperature, weights=None, bias=0.0, new_word_allowance=allowance)
    correct = (scores.argmax(axis=1) == y).astype(int)
    if correct.min() == correct.max():  # all right or all wrong: nothing to learn from; softmax alone
        return calibration
    inputs = _calibration_inputs(scores, temperature)
    # Both inputs say "more sure"; a negative weight is an artefact of few examples, and would
    # make a message resembling nothing (low scores everywhere) look surer. Drop the gap then.
    for used in ([0, 1], [0]):
        logistic = LogisticRegression(C=10).fit(inputs[:, used], correct)
        if (logistic.coef_[0] > 0).all():
            weights = [0.0, 0.0]
            for column, weight in zip(used, logistic.coef_[0], strict=True):
                weights[column] = float(weight)
            return dataclasses.replace(
                calibration, weights=tuple(weights), bias=float(logistic.intercept_[0])
            )
    return calibration


def _calibration_inputs(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Per message: log softmax probability of the top label, and its score's lead over the runner-up."""
    ordered = np.sort(scores, axis=1)
    return np.c_[log_softmax(scores / temperature, axis=1).max(axis=1), ordered[:, -1] - ordered[:, -2]]


def classifier_train(
    texts: Sequence[str], labels: Sequence[str], *, folds: int = FOLDS, seed: int = 0, n_jobs: int = 2
) -> tuple[LocalClassifier, dict]:
    """Train on all examples; calibrate and measure on out-of-fold predictions.

    Returns the model and its validation figures (cross-validated on the training data).
    """
    started = time.perf_counter()
    texts = [str(t).strip() for t in texts]
    if len(texts) != len(labels):
        raise LocalModelError("Texts and labels differ in number.")
    if not all(texts):
        raise LocalModelError("Every example needs a text.")
    label_list = sorted(set(labels))
    if len(label_list) < 2:
        raise LocalModelError("The local classifier needs examples of at least two labels.")
    index = {label: n for n, label in enumerate(label_list)}
    y = np.array([index[label] for label in labels])
    k = int(min(folds, np.bincount(y).max()))
    if k < 2:
        raise LocalModelError("The local classifier needs at least two examples of some label.")
    with warnings.catch_warnings():
        # A label with fewer examples than folds is fine: it is just missing from some folds.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(texts, y))
    try:
        encoder = encoder_load()
    except EncoderError as exc:
        raise LocalModelError(str(exc)) from exc
    embeddings = encoder.embed(texts)
    jobs = [
        joblib.delayed(_fold)(texts, embeddings, y, len(label_list), train, test) for train, test in splits
    ]
    jobs.append(joblib.delayed(_linear_fit)(texts, embeddings, y, len(label_list)))
    # Threads, not processes: liblinear releases the GIL, and a django-q2 worker may not fork.
    *folded, final = joblib.Parallel(n_jobs=n_jobs, prefer="threads")(jobs)
    oof_scores = np.zeros((len(texts), len(label_list)))
    oof_new_words = np.zeros(len(texts))
    for test, scores, shares in folded:
        oof_scores[test], oof_new_words[test] = scores, shares
    features, coef, embedding_coef, intercept = final
    model = LocalClassifier(
        features=features,
        coef=coef,
        embedding_coef=embedding_coef,
        intercept=intercept,
        labels=label_list,
        known_words=frozenset(w for t in texts for w in content_words(t)),
        calibration=_calibrate(oof_scores, oof_new_words, y),
        encoder_id=encoder.id,
    )
    confidence = model.confidences(oof_scores, oof_new_words)
    predicted = [label_list[i] for i in oof_scores.argmax(axis=1)]
    validation = {
        "method": f"{k}-fold cross-validation on the training data",
        **evaluation_figures(predicted, list(labels), confidence),
        "train_seconds": round(time.perf_counter() - started, 2),
        "features": features.size,
        "encoder": encoder.id,
    }
    return model, validation


def evaluation_figures(predicted: Sequence[str], truth: Sequence[str], confidence: Sequence[float]) -> dict:
    """Accuracy, macro-F1, and coverage and precision at each confidence threshold."""
    correct = np.array([p == t for p, t in zip(predicted, truth, strict=True)])
    confidence = np.asarray(confidence)
    rows = []
    for threshold in THRESHOLDS:
        covered = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "coverage": round(float(covered.mean()), 4),
                "precision": round(float(correct[covered].mean()), 4) if covered.any() else None,
            }
        )
    return {
        "examples": len(truth),
        "labels": len(set(truth)),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "thresholds": rows,
    }


def cascade_threshold_pick(thresholds: list[dict], min_precision: float = 0.98) -> dict | None:
    """The lowest threshold whose precision reaches `min_precision` (the most coverage at that precision)."""
    for row in thresholds:
        if row["precision"] is not None and row["precision"] >= min_precision:
            return row
    return None


def latency_ms(model: LocalClassifier, texts: Sequence[str], limit: int = 2000) -> dict[str, float]:
    """p50 and p99 of classifying one message at a time, as a worker does."""
    sample = list(texts[:limit])
    model.predict(sample[0])  # first call pays for lazy imports and caches
    timings = []
    for text in sample:
        started = time.perf_counter()
        model.predict(text)
        timings.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3), "count": len(timings)}


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


def labelled_csv_read(path: Path) -> list[tuple[int, str, str]]:
    """(line, text, label) per row of a CSV with a text column and a label column.

    The text column is named text, message or body; the label column label, category or intent.
    An optional sub_intent column is joined on as intent/sub_intent. Empty cells are kept, for
    the caller to report.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {name.strip().lower(): name for name in reader.fieldnames or [] if name}
            text_column = next((columns[c] for c in TEXT_COLUMNS if c in columns), None)
            label_column = next((columns[c] for c in LABEL_COLUMNS if c in columns), None)
            found = ", ".join(columns.values()) or "none"
            if text_column is None:
                raise LocalModelError(
                    f"{path} has no text column (named {', '.join(TEXT_COLUMNS)}); its columns: {found}."
                )
            if label_column is None:
                raise LocalModelError(
                    f"{path} has no label column (named {', '.join(LABEL_COLUMNS)}); its columns: {found}."
                )
            sub_column = columns.get("sub_intent")
            rows = []
            for row in reader:
                label = (row.get(label_column) or "").strip()
                sub = (row.get(sub_column) or "").strip() if sub_column else ""
                if label and sub:
                    label = f"{label}/{sub}"
                rows.append((reader.line_num, (row.get(text_column) or "").strip(), label))
            return rows
    except OSError as exc:
        raise LocalModelError(f"Cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LocalModelError(f"{path} is not a UTF-8 CSV file: {exc}") from exc
