"""Turning the local classifier's scores into probabilities of being right."""

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Calibration:
    """Turns scores into the probability of being right, fitted on out-of-fold predictions."""

    temperature: float
    weights: tuple[float, float] | None  # logistic on (log softmax of the top label, gap to runner-up)
    bias: float
    new_word_allowance: float  # share of new words in-scope messages still show (95th percentile)


def calibrate(scores: np.ndarray, new_words: np.ndarray, y: np.ndarray) -> Calibration:
    def nll(temperature: float) -> float:
        return float(-log_softmax(scores / temperature, axis=1)[np.arange(len(y)), y].mean())

    temperature = float(minimize_scalar(nll, bounds=(0.01, 10), method="bounded").x)
    # Clipped: a tiny set must not make every message look familiar, or none.
    allowance = float(np.clip(np.percentile(new_words, 95), 0.2, 0.6))
    calibration = Calibration(temperature=temperature, weights=None, bias=0.0, new_word_allowance=allowance)
    correct = (scores.argmax(axis=1) == y).astype(int)
    if correct.min() == correct.max():  # all right or all wrong: nothing to learn from; softmax alone
        return calibration
    inputs = calibration_inputs(scores, temperature)
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


def calibration_inputs(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Per message: log softmax probability of the top label, and its score's lead over the runner-up."""
    ordered = np.sort(scores, axis=1)
    return np.c_[log_softmax(scores / temperature, axis=1).max(axis=1), ordered[:, -1] - ordered[:, -2]]
