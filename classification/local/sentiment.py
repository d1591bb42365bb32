"""Offline sentiment of a customer message: VADER with support cues in English, a small lexicon elsewhere."""

import csv
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

STRONG_WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "sentiment" / "strong_words.tsv"

# VADER scores words that carry no feeling in a support request: "please", "gift card", "true to size",
# "free shipping", "credit card", "customer care", "what kind of"; and "a joke" is blame, not fun.
ENGLISH_OVERRIDES = {
    "please": 0.0,
    "gift": 0.0,
    "true": 0.0,
    "accept": 0.0,
    "pay": 0.0,
    "help": 0.0,
    "free": 0.0,
    "save": 0.0,
    "credit": 0.0,
    "care": 0.0,
    "support": 0.0,
    "kind": 0.0,
    "dear": 0.0,
    "cancel": 0.0,
    "wrong": -1.0,
    "joke": -1.5,
    "theft": -2.5,
    "ripoff": -2.5,
    "shambles": -2.0,
}
# Frustration that VADER's word list cannot see: repeats, waiting, silence, leaving, threats.
ENGLISH_CUES = [
    (r"\b(second|third|fourth|fifth|\d+(st|nd|rd|th))\s+time\b", -0.6),
    (r"\bhow many (more )?times\b", -0.6),
    (r"\b(still|yet again|again)\b.{0,30}\b(no|not|nothing|never|haven'?t|hasn'?t|didn'?t|waiting)\b", -0.4),
    (r"\b(nobody|no one|no-one|noone)\b.{0,20}\b(answer|repl|respon|call|help|told|care)", -0.5),
    (r"\bnever\b.{0,20}\b(again|order|buy|shop|use)\b", -0.6),
    (
        r"\b(been|waiting|waited)\b.{0,15}"
        r"\b(\d+|two|three|four|five|six|several|many|a|one) (days?|weeks?|months?)\b",
        -0.4,
    ),
    (r"\bon hold\b", -0.3),
    (r"\b(fed up|sick of|had enough|done with)\b", -0.6),
    (r"\b(scam|rip[- ]?off|chargeback|lawyer|trading standards|small claims|report you)\b", -0.6),
    (r"\b(complain|complaint)", -0.4),
    (r"\bwhy (is|does|do) (it|this|everything)\b.{0,10}\b(so|this) (hard|difficult|long)\b", -0.4),
    (r"^\W*stop \w+ing\b", -0.4),
    # and warmth that VADER under-reads: "thanks a lot", "thank you very much"
    (r"\b(thanks|thank you)\b.{0,12}\b(a lot|so much|very much|again)\b", 0.15),
]
# Emoji whose names VADER cannot score ("pouting face", "thumbs down"), as the word a customer means.
EMOJI_WORDS = {
    "\U0001f621": "angry",
    "\U0001f92c": "furious",
    "\U0001f624": "angry",
    "\U0001f644": "annoying",
    "\U0001f4a9": "crap",
    "\U0001f44e": "bad",
    "\U0001f44d": "good",
}
# Request formulas that VADER reads as liking: "I'd like to return" is a want, not a pleasure.
_REQUEST = re.compile(r"\b(would|'d|d)\s+like\b", re.IGNORECASE)
# Words that deny the praise word after them (within three words).
NEGATORS = {
    "es": frozenset({"no", "nunca", "ni"}),
    "fr": frozenset({"pas", "jamais", "ne", "n'est", "n'etait"}),
    "de": frozenset({"nicht", "kein", "keine", "nie"}),
    "it": frozenset({"non", "mai"}),
    "pt": frozenset({"nao", "nunca"}),
    "nl": frozenset({"niet", "geen", "nooit"}),
    "pl": frozenset({"nie"}),
    "sv": frozenset({"inte", "aldrig", "ej"}),
}

# A support message is a request: most carry no feeling, so a label needs a clear signal. VADER's usual
# cut (±0.05) calls "please cancel my order, thanks" positive and "wrong colour, how do I exchange it"
# negative; these cuts keep both neutral (measured on classification/data/sentiment, see the doc).
NEGATIVE_AT = -0.3
POSITIVE_AT = 0.45
# VADER's normalisation of a sum of valences into -1..1, reused for the other languages' lexicon.
_ALPHA = 15.0
# "?!", "!!", "???" sharpen blame already there; alone they are as often joy ("SWEETEST PHONE!!!").
_PUNCTUATION = re.compile(r"\?\s*!|!\s*\?|!{2,}|\?{2,}")
_PUNCTUATION_WEIGHT = -0.3

_lock = threading.Lock()
_analyzer = None
_patterns: dict[str, tuple[re.Pattern, dict[str, float]]] = {}
_strong_words: dict[str, dict[str, float]] | None = None
_english_cues = [(re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in ENGLISH_CUES]


@dataclass(frozen=True)
class SentimentGuess:
    label: str  # "negative", "neutral" or "positive"
    score: float  # -1 (angry) to 1 (delighted)


def sentiment_detect(text: str, language: str | None) -> SentimentGuess:
    """Sentiment of one customer message in `language` (ISO 639-1; None: unknown, read as English)."""
    text = (text or "").strip()
    if not text:
        return SentimentGuess(label="neutral", score=0.0)
    if language in (None, "en"):
        score = _english_score(text)
    elif language in _lexicons():
        score = _lexicon_score(text, language)
    else:
        # No lexicon for this language: only emoji can speak.
        score = _lexicon_score(text, None)
    score = round(max(-1.0, min(1.0, score)), 4)
    return SentimentGuess(label=sentiment_label(score), score=score)


def sentiment_label(score: float) -> str:
    """The label of a score, by the support-tuned cuts."""
    if score <= NEGATIVE_AT:
        return "negative"
    if score >= POSITIVE_AT:
        return "positive"
    return "neutral"


def _english_score(text: str) -> float:
    words = "".join(f" {EMOJI_WORDS[ch]} " if ch in EMOJI_WORDS else ch for ch in text)
    compound = _vader().polarity_scores(_REQUEST.sub(" want", words))["compound"]
    weights = [weight for pattern, weight in _english_cues if pattern.search(text)]
    blame = sum(w for w in weights if w < 0)
    if (blame < 0 or compound < 0) and _PUNCTUATION.search(text):
        blame += _PUNCTUATION_WEIGHT
    # Frustration outweighs the polite words around it ("thanks for nothing, third time I ask").
    if blame < 0:
        return min(compound, 0.0) + blame
    return compound + sum(weights) if compound > 0 else compound


def _lexicon_score(text: str, language: str | None) -> float:
    folded = _fold(text)
    total = 0.0
    if language is not None:
        pattern, valences = _lexicon(language)
        negators = NEGATORS.get(language, frozenset())
        for match in pattern.finditer(folded):
            valence = valences[match.group(0)]
            before = folded[: match.start()].split()[-3:]
            if valence > 0 and negators.intersection(before):
                valence *= -0.5  # "pas parfait", "nicht zufrieden": a praise word denied reads as mild blame
            total += valence
    total += _emoji_valence(text)
    score = total / (total * total + _ALPHA) ** 0.5
    if score < 0 and _PUNCTUATION.search(text):
        score += _PUNCTUATION_WEIGHT
    return score


def _emoji_valence(text: str) -> float:
    analyzer = _vader()
    descriptions = [EMOJI_WORDS.get(ch) or analyzer.emojis[ch] for ch in text if ch in analyzer.emojis]
    if not descriptions:
        return 0.0
    compound = analyzer.polarity_scores(" ".join(descriptions))["compound"]
    # Back from VADER's -1..1 to a valence sum, so that emoji add to words on the same scale.
    return compound * (_ALPHA / max(1e-9, 1 - compound * compound)) ** 0.5


def _fold(text: str) -> str:
    """Lower case without accents: customers often type "vergüenza" as "verguenza"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _lexicon(language: str) -> tuple[re.Pattern, dict[str, float]]:
    compiled = _patterns.get(language)
    if compiled is None:
        valences = _lexicons()[language]
        # Longest first, so that "muchas gracias" wins over "gracias" at the same place.
        alternatives = "|".join(re.escape(p) for p in sorted(valences, key=len, reverse=True))
        compiled = _patterns[language] = (re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), valences)
    return compiled


def _lexicons() -> dict[str, dict[str, float]]:
    global _strong_words
    if _strong_words is None:
        lexicons: dict[str, dict[str, float]] = {}
        with STRONG_WORDS_FILE.open(encoding="utf-8") as handle:
            lines = (line for line in handle if line.strip() and not line.startswith("#"))
            for language, phrase, valence in csv.reader(lines, delimiter="\t"):
                lexicons.setdefault(language, {})[_fold(phrase)] = float(valence)
        _strong_words = lexicons
    return _strong_words


def _vader():
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                analyzer = SentimentIntensityAnalyzer()
                analyzer.lexicon.update(ENGLISH_OVERRIDES)
                _analyzer = analyzer
    return _analyzer
