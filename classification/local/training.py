"""Training the local classifier: a linear SVM over TF-IDF and embedding columns, calibrated out of fold."""

import time
import warnings
from collections.abc import Sequence

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from ..wording import meaningful_word_count
from .calibration import calibrate
from .classifier import OUT_OF_SCOPE, LocalClassifier, LocalModelError, answerable, label_intents
from .encoder import DIMENSIONS, EncoderError, encoder_load
from .evaluation import evaluation_figures
from .features import Features, content_words, new_word_shares

# Out-of-fold scores for the calibration: with the final fit that makes four fits, two per core
# (five folds took 21 s longer to train on BANKING77 and calibrated no better: same cascade figures).
FOLDS = 3
SVM_C = 0.5
# Scale of the sentence embedding beside the TF-IDF columns (both unit length per message): how
# much the SVM's regularisation lets meaning count against wording. Tuned on BANKING77.
EMBEDDING_WEIGHT = 2.0


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
    in_scope: np.ndarray,
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
    known = _known_words(texts, train[in_scope[train]])
    seen = np.isin(y[test], y[train])
    return test, scores, new_word_shares(test_texts, known), seen


def _known_words(texts: Sequence[str], rows: np.ndarray) -> frozenset[str]:
    """The content words of the in-scope examples: out-of-scope ones must not make their words familiar."""
    return frozenset(w for row in rows for w in content_words(texts[row]))


def classifier_train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    out_of_scope: Sequence[str] = (),
    folds: int = FOLDS,
    seed: int = 0,
    n_jobs: int = 2,
) -> tuple[LocalClassifier, dict]:
    """Train on all examples; calibrate and measure on out-of-fold predictions.

    `out_of_scope` messages (labelled.out_of_scope_examples: the shipped ones) train one more label that is
    never an answer: its probability is taken from every intent's, and calibration learns that
    messages like them are wrong whatever is answered.
    Returns the model and its validation figures (cross-validated on the in-scope training data).
    """
    started = time.perf_counter()
    texts = [str(t).strip() for t in texts]
    if len(texts) != len(labels):
        raise LocalModelError("Texts and labels differ in number.")
    if not all(texts):
        raise LocalModelError("Every example needs a text.")
    if len(set(labels)) < 2:
        raise LocalModelError("The local classifier needs examples of at least two labels.")
    if OUT_OF_SCOPE in labels:
        raise LocalModelError(f"{OUT_OF_SCOPE!r} is not a label a message can be trained on.")
    # In a fixed order, so that the same examples train the same model whichever order they come in
    # (the folds, and the encoder's batches, depend on it).
    pairs = sorted(zip(labels, texts, strict=True)) + [
        (OUT_OF_SCOPE, str(t).strip()) for t in sorted(out_of_scope)
    ]
    labels, texts = [label for label, _ in pairs], [text for _, text in pairs]
    in_scope = np.array([label != OUT_OF_SCOPE for label in labels])
    label_list = sorted(set(labels))
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
        joblib.delayed(_fold)(texts, embeddings, y, len(label_list), in_scope, train, test)
        for train, test in splits
    ]
    jobs.append(joblib.delayed(_linear_fit)(texts, embeddings, y, len(label_list)))
    # Threads, not processes: liblinear releases the GIL, and a django-q2 worker may not fork.
    *folded, final = joblib.Parallel(n_jobs=n_jobs, prefer="threads")(jobs)
    oof_scores = np.zeros((len(texts), len(label_list)))
    oof_new_words = np.zeros(len(texts))
    # A label with fewer examples than folds is missing from some fold's training data: its examples
    # there score -1e3 and would drag the temperature to its bound (every probability flattened).
    # They count in the validation figures as the misses they are, but teach calibration nothing.
    seen = np.zeros(len(texts), dtype=bool)
    for test, scores, shares, test_seen in folded:
        oof_scores[test], oof_new_words[test], seen[test] = scores, shares, test_seen
    features, coef, embedding_coef, intercept = final
    intents, label_intent = label_intents(label_list)
    model = LocalClassifier(
        features=features,
        coef=coef,
        embedding_coef=embedding_coef,
        intercept=intercept,
        labels=label_list,
        known_words=_known_words(texts, np.flatnonzero(in_scope)),
        calibration=calibrate(
            oof_scores[seen],
            oof_new_words[seen],
            y[seen],
            label_intent,
            answerable(intents),
            in_scope[seen],
        ),
        encoder_id=encoder.id,
    )
    decision = model.decide(oof_scores, oof_new_words, np.array([meaningful_word_count(t) for t in texts]))
    rows = np.flatnonzero(in_scope)
    intent_figures = evaluation_figures(
        [intents[i] for i in decision.choice.intent[rows]],
        [intents[i] for i in label_intent[y[rows]]],
        decision.intent_confidence[rows],
    )
    validation = {
        "method": f"{k}-fold cross-validation on the training data",
        **evaluation_figures(
            [label_list[i] for i in decision.choice.label[rows]],
            [labels[i] for i in rows],
            decision.label_confidence[rows],
        ),
        "intent_accuracy": intent_figures["accuracy"],
        "intent_thresholds": intent_figures["thresholds"],
        "out_of_scope_examples": len(out_of_scope),
        "out_of_scope_mean_confidence": round(float(decision.intent_confidence[~in_scope].mean()), 4)
        if len(out_of_scope)
        else None,
        "train_seconds": round(time.perf_counter() - started, 2),
        "features": features.size,
        "encoder": encoder.id,
    }
    return model, validation
