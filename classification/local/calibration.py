"""Turning the local classifier's scores into probabilities of being right: of the intent, of the label."""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression

# Floor of a probability before its logarithm: an intent with no label left (all masked) has none.
TINY = 1e-12


@dataclass(frozen=True)
class Calibration:
    """Turns scores into probabilities of being right, fitted on out-of-fold predictions.

    Logistics with positive weights on inputs that say "more sure" (or None: the softmax probability
    itself). The intent's reads the log of its summed probability alone: it tops out at sigmoid(bias)
    however sure the scores, where a lead over the next intent (unbounded) swung the fit from one
    fold split to the next. The label's reads the log of its probability and its score's lead over
    the next label; it never exceeds the intent's.
    """

    temperature: float
    weights: tuple[float, ...] | None  # the label's logistic
    bias: float
    intent_weights: tuple[float, ...] | None  # the intent's logistic
    intent_bias: float
    new_word_allowance: float  # share of new words in-scope messages still show (95th percentile)


@dataclass(frozen=True)
class Choice:
    """Per message: the best intent by summed probability, the best label within it, and the inputs
    their calibrations read."""

    probabilities: np.ndarray  # messages x labels, softmax at the temperature
    intent: np.ndarray  # index of the best intent
    label: np.ndarray  # index of the best label of that intent
    intent_inputs: np.ndarray
    label_inputs: np.ndarray


def choose(
    scores: np.ndarray, temperature: float, label_intent: np.ndarray, answerable: np.ndarray
) -> Choice:
    """The intent whose labels (its own and its sub-intents') add up to the most probability, and
    the best of its labels: a message torn between two sub-intents of one intent is still sure of it.

    Only `answerable` intents can be chosen; the others (out of scope) only take probability away.
    """
    rows = np.arange(len(scores))
    log_p = log_softmax(scores / temperature, axis=1)
    p = np.exp(log_p)
    q = p @ np.eye(len(answerable))[label_intent]  # messages x intents
    log_q = np.log(np.maximum(q, TINY))
    intent = np.where(answerable, log_q, -np.inf).argmax(axis=1)
    label = np.where(label_intent[None, :] == intent[:, None], scores, -np.inf).argmax(axis=1)
    others = scores.copy()
    others[rows, label] = -np.inf
    label_lead = scores[rows, label] - others.max(axis=1)
    return Choice(
        probabilities=p,
        intent=intent,
        label=label,
        intent_inputs=log_q[rows, intent][:, None],
        label_inputs=np.c_[log_p[rows, label], label_lead],
    )


def probability(inputs: np.ndarray, weights: tuple[float, ...] | None, bias: float) -> np.ndarray:
    if weights is None:
        return np.exp(inputs[:, 0])
    return 1 / (1 + np.exp(-(bias + inputs @ np.array(weights))))


def _logistic(inputs: np.ndarray, correct: np.ndarray) -> tuple[tuple[float, ...] | None, float]:
    if correct.min() == correct.max():  # all right or all wrong: nothing to learn from; softmax alone
        return None, 0.0
    # A negative weight is an artefact of few examples, and would make a message resembling
    # nothing (low scores everywhere) look surer. Drop the lead (the later columns) then.
    for used in sorted({inputs.shape[1], 1}, reverse=True):
        logistic = LogisticRegression(C=10).fit(inputs[:, :used], correct)
        if (logistic.coef_[0] > 0).all():
            weights = [0.0] * inputs.shape[1]
            weights[:used] = (float(w) for w in logistic.coef_[0])
            return tuple(weights), float(logistic.intercept_[0])
    return None, 0.0


def calibrate(
    scores: np.ndarray,
    new_words: np.ndarray,
    y: np.ndarray,
    label_intent: np.ndarray,
    answerable: np.ndarray,
    in_scope: np.ndarray,
) -> Calibration:
    """Temperature by the labels' log loss, then one logistic for the intent and one for the label.

    Out-of-scope examples (`in_scope` false) are always wrong answers; they do not set the share of
    new words that in-scope messages show.
    """

    def nll(temperature: float) -> float:
        return float(-log_softmax(scores / temperature, axis=1)[np.arange(len(y)), y].mean())

    temperature = float(minimize_scalar(nll, bounds=(0.01, 10), method="bounded").x)
    choice = choose(scores, temperature, label_intent, answerable)
    intent_weights, intent_bias = _logistic(
        choice.intent_inputs, (choice.intent == label_intent[y]).astype(int)
    )
    weights, bias = _logistic(choice.label_inputs, (choice.label == y).astype(int))
    return Calibration(
        temperature=temperature,
        weights=weights,
        bias=bias,
        intent_weights=intent_weights,
        intent_bias=intent_bias,
        # Clipped: a tiny set must not make every message look familiar, or none.
        new_word_allowance=float(np.clip(np.percentile(new_words[in_scope], 95), 0.2, 0.6)),
    )
