"""The local classifier's public names, gathered from its parts (artifacts pickled them under this module)."""

from .calibration import Calibration
from .classifier import (
    ARTIFACT_MAX_BYTES,
    OUT_OF_SCOPE,
    SEPARATOR,
    LocalClassifier,
    LocalModelError,
    Prediction,
    artifact_dump,
    artifact_load,
)
from .evaluation import THRESHOLDS, cascade_threshold_pick, evaluation_figures, latency_ms
from .features import STOP_WORDS, Features, WordPairs, content_words, new_word_shares
from .labelled import LABEL_COLUMNS, TEXT_COLUMNS, labelled_csv_read
from .training import EMBEDDING_WEIGHT, FOLDS, SVM_C, classifier_train

__all__ = [
    "ARTIFACT_MAX_BYTES",
    "EMBEDDING_WEIGHT",
    "FOLDS",
    "LABEL_COLUMNS",
    "OUT_OF_SCOPE",
    "SEPARATOR",
    "STOP_WORDS",
    "SVM_C",
    "TEXT_COLUMNS",
    "THRESHOLDS",
    "Calibration",
    "Features",
    "LocalClassifier",
    "LocalModelError",
    "Prediction",
    "WordPairs",
    "artifact_dump",
    "artifact_load",
    "cascade_threshold_pick",
    "classifier_train",
    "content_words",
    "evaluation_figures",
    "labelled_csv_read",
    "latency_ms",
    "new_word_shares",
]
