"""Offline language identification of a customer message: py3langid restricted to the languages we expect."""

import re
import threading
from dataclasses import dataclass

# The languages a guess may be and the probability under which the answer is None are Django settings
# (LOCAL_LANGUAGES, LOCAL_LANGUAGE_MIN_CONFIDENCE in bearscope/settings/base.py, docs/configuration.md).
# Fewer letters than this (after numbers, codes, addresses and links are removed) say nothing.
MIN_LETTERS = 3
# The opening of a long message decides; quoted history and signatures below it only add noise and time.
MAX_CHARS = 1000

# Links, addresses and any run of ASCII letters, digits and separators holding a digit (order numbers,
# SKUs, phone numbers); only ASCII, so that "注文10001はどこ" keeps its words.
_NOT_LANGUAGE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[\w#/.+-]*\d[\w#/.+-]*", re.IGNORECASE | re.ASCII)

_lock = threading.Lock()
_identifiers: dict[tuple[str, ...], object] = {}


@dataclass(frozen=True)
class LanguageGuess:
    code: str | None  # ISO 639-1, or None when the text is too short or too uncertain to say
    confidence: float  # probability of the best language among the allowed ones; 0.0 when not asked


def language_detect(text: str) -> LanguageGuess:
    """Guess the language of one customer message, or None when it cannot honestly be said."""
    words = _NOT_LANGUAGE.sub(" ", (text or "")[:MAX_CHARS])
    if sum(ch.isalpha() for ch in words) < MIN_LETTERS:
        return LanguageGuess(code=None, confidence=0.0)
    languages, min_confidence = _configuration()
    code, probability = _identifier(languages).classify(words)
    probability = round(float(probability), 4)
    if probability < min_confidence:
        return LanguageGuess(code=None, confidence=probability)
    return LanguageGuess(code=code, confidence=probability)


def languages_allowed() -> tuple[str, ...]:
    """The languages a guess may be, as configured."""
    return _configuration()[0]


def _configuration() -> tuple[tuple[str, ...], float]:
    from django.conf import settings

    return tuple(settings.LOCAL_LANGUAGES), float(settings.LOCAL_LANGUAGE_MIN_CONFIDENCE)


def _identifier(languages: tuple[str, ...]):
    identifier = _identifiers.get(languages)
    if identifier is None:
        with _lock:
            identifier = _identifiers.get(languages)
            if identifier is None:
                identifier = _identifiers[languages] = _identifier_load(languages)
    return identifier


def _identifier_load(languages: tuple[str, ...]):
    # Imported here so that a process which never asks pays neither the import nor the model.
    import numpy as np
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    unknown = sorted(set(languages) - set(full.nb_classes))
    if unknown:
        raise ValueError(f"LOCAL_LANGUAGES has codes the language model does not know: {unknown}")
    columns = [i for i, code in enumerate(full.nb_classes) if code in languages]
    # A new identifier holding only our languages' columns: set_languages() would keep the whole
    # 97-language table alive beside the subset (about 90 MB against 50 MB per process).
    return LanguageIdentifier(
        np.ascontiguousarray(full.nb_ptc[:, columns]),
        np.ascontiguousarray(full.nb_pc[columns]),
        [full.nb_classes[i] for i in columns],
        full.tk_nextmove,
        full.tk_output,
        norm_probs=True,
        tk_row=full.tk_row,
    )
