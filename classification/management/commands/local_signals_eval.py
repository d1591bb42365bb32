"""Measure the local tier's language and sentiment guesses on the labelled sets shipped in the repository."""

import csv
import json
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand

from classification.local.language import language_detect, languages_allowed
from classification.local.sentiment import NEGATIVE_AT, POSITIVE_AT, sentiment_detect

DATA = Path(__file__).resolve().parents[2] / "data"
LANGUAGE_SET = DATA / "language" / "support_messages.csv"
ENGLISH_QUERIES = DATA / "banking77" / "train.csv"
SENTIMENT_SETS = {
    "support": DATA / "sentiment" / "support_sentiment.csv",
    "support_holdout": DATA / "sentiment" / "support_sentiment_holdout.csv",
    "amazon": DATA / "sentiment" / "amazon_cells_labelled.txt",
}
LABELS = ("negative", "neutral", "positive")
SHORT_WORDS = 3


class Command(BaseCommand):
    help = (
        "Language accuracy (overall, per language, on messages of up to three words, share answered "
        "None) on classification/data/language, the share of BANKING77's real English queries "
        "recognised as English, and sentiment accuracy (overall, per class, confusion table) on the "
        "hand-written support sets and the public Amazon sentences. Touches no database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--errors", action="store_true", help="also list every wrong answer")

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        result = {
            "languages_allowed": list(languages_allowed()),
            "language": language_figures(_language_rows()),
            "english_queries": english_queries_figures(_english_queries()),
            "sentiment_cuts": {"negative_at": NEGATIVE_AT, "positive_at": POSITIVE_AT},
            "sentiment": {
                name: sentiment_figures(_sentiment_rows(path)) for name, path in SENTIMENT_SETS.items()
            },
        }
        result["seconds"] = round(time.perf_counter() - started, 2)
        if not options["errors"]:
            _drop_errors(result)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self._print(result)

    def _print(self, result: dict) -> None:
        out = self.stdout.write
        lang, short, none = result["language"], result["language"]["short"], result["language"]["no_language"]
        allowed = ", ".join(result["languages_allowed"])
        out(f"Language ({lang['examples']} support messages; allowed: {allowed})")
        out(
            f"  accuracy {_pct(lang['accuracy'])}, answered None {_pct(lang['none_share'])}, "
            f"wrong language {_pct(lang['wrong_share'])}, "
            f"accuracy when answered {_pct(lang['answered_accuracy'])}"
        )
        out(
            f"  messages of 1-{SHORT_WORDS} words: accuracy {_pct(short['accuracy'])} "
            f"({short['examples']}), None {_pct(short['none_share'])}"
        )
        out(
            f"  no language to find (codes, numbers, 'ok'): None for {_pct(none['none_share'])} "
            f"of {none['examples']}"
        )
        out("  language  examples  accuracy  None")
        for code, row in lang["per_language"].items():
            out(f"  {code:8}  {row['examples']:8}  {_pct(row['accuracy']):>8}  {_pct(row['none_share']):>5}")
        for error in lang.get("errors", []):
            out(f"    {error}")
        english = result["english_queries"]
        out(
            f"BANKING77 real English queries ({english['examples']}): "
            f"English {_pct(english['english_share'])}, None {_pct(english['none_share'])}, "
            f"other {_pct(english['other_share'])} {english['other_codes']}"
        )
        cuts = result["sentiment_cuts"]
        out(f"Sentiment (negative at score <= {cuts['negative_at']}, positive at >= {cuts['positive_at']})")
        for name, figures in result["sentiment"].items():
            self._print_sentiment(name, figures)
        out(f"({result['seconds']} s)")

    def _print_sentiment(self, name: str, figures: dict) -> None:
        out = self.stdout.write
        out(f"  {name} ({figures['examples']}): accuracy {_pct(figures['accuracy'])}")
        out("    class     examples  recall  precision")
        for label, row in figures["per_class"].items():
            recall, precision = _pct(row["recall"]), _pct(row["precision"])
            out(f"    {label:8}  {row['examples']:8}  {recall:>6}  {precision:>9}")
        out("    true \\ guessed  " + "  ".join(f"{label:>8}" for label in LABELS))
        for label in LABELS:
            counts = figures["confusion"][label]
            if sum(counts.values()):
                out(f"    {label:15}  " + "  ".join(f"{counts[guess]:8}" for guess in LABELS))
        if "sign_accuracy" in figures:
            out(
                f"    by the sign of the score alone: accuracy {_pct(figures['sign_accuracy'])} "
                f"(score 0 for {_pct(figures['zero_share'])})"
            )
        for error in figures.get("errors", []):
            out(f"    {error}")


def language_figures(rows: list[tuple[str, str]]) -> dict:
    """Accuracy of language_detect on (expected code or "", text) rows; None counts as wrong."""
    per_language: dict[str, Counter] = {}
    short, no_language, total = Counter(), Counter(), Counter()
    errors = []
    for expected, text in rows:
        code = language_detect(text).code
        if not expected:
            no_language["examples"] += 1
            no_language["none"] += code is None
            if code is not None:
                errors.append(f"(none) -> {code}: {text}")
            continue
        counters = [total, per_language.setdefault(expected, Counter())]
        if len(text.split()) <= SHORT_WORDS:
            counters.append(short)
        for counter in counters:
            counter["examples"] += 1
            counter["right"] += code == expected
            counter["none"] += code is None
        if code != expected:
            errors.append(f"{expected} -> {code}: {text}")
    answered = total["examples"] - total["none"]
    return {
        "examples": total["examples"],
        "accuracy": _share(total["right"], total["examples"]),
        "none_share": _share(total["none"], total["examples"]),
        "wrong_share": _share(answered - total["right"], total["examples"]),
        "answered_accuracy": _share(total["right"], answered),
        "per_language": {
            code: {
                "examples": c["examples"],
                "accuracy": _share(c["right"], c["examples"]),
                "none_share": _share(c["none"], c["examples"]),
            }
            for code, c in sorted(per_language.items(), key=lambda item: -item[1]["examples"])
        },
        "short": {
            "examples": short["examples"],
            "accuracy": _share(short["right"], short["examples"]),
            "none_share": _share(short["none"], short["examples"]),
        },
        "no_language": {
            "examples": no_language["examples"],
            "none_share": _share(no_language["none"], no_language["examples"]),
        },
        "errors": errors,
    }


def english_queries_figures(texts: list[str]) -> dict:
    """What language_detect says of real English customer queries: English, None, or something else."""
    codes = Counter(language_detect(text).code for text in texts)
    other = {code: n for code, n in codes.most_common() if code not in ("en", None)}
    return {
        "examples": len(texts),
        "english_share": _share(codes["en"], len(texts)),
        "none_share": _share(codes[None], len(texts)),
        "other_share": _share(sum(other.values()), len(texts)),
        "other_codes": other,
    }


def sentiment_figures(rows: list[tuple[str, str | None, str]]) -> dict:
    """Accuracy of sentiment_detect on (label, language, text) rows, per class and as a confusion table."""
    confusion = {label: dict.fromkeys(LABELS, 0) for label in LABELS}
    right = sign_right = zeros = 0
    errors = []
    for label, language, text in rows:
        guess = sentiment_detect(text, language)
        confusion[label][guess.label] += 1
        right += guess.label == label
        sign = "negative" if guess.score < 0 else "positive" if guess.score > 0 else None
        sign_right += sign == label
        zeros += sign is None
        if guess.label != label:
            errors.append(f"{label} -> {guess.label} ({guess.score:+.2f}, {language}): {text}")
    per_class = {}
    for label in LABELS:
        examples = sum(confusion[label].values())
        guessed = sum(confusion[truth][label] for truth in LABELS)
        if examples:
            per_class[label] = {
                "examples": examples,
                "recall": _share(confusion[label][label], examples),
                "precision": _share(confusion[label][label], guessed),
            }
    figures = {
        "examples": len(rows),
        "accuracy": _share(right, len(rows)),
        "per_class": per_class,
        "confusion": confusion,
        "errors": errors,
    }
    if not per_class.get("neutral"):
        # A set without neutral sentences: also how often the score leans the right way.
        figures["sign_accuracy"] = _share(sign_right, len(rows))
        figures["zero_share"] = _share(zeros, len(rows))
    return figures


def _language_rows() -> list[tuple[str, str]]:
    with LANGUAGE_SET.open(encoding="utf-8", newline="") as handle:
        return [(row["language"], row["text"]) for row in csv.DictReader(handle)]


def _english_queries() -> list[str]:
    with ENGLISH_QUERIES.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def _sentiment_rows(path: Path) -> list[tuple[str, str | None, str]]:
    if path.suffix == ".txt":
        # UCI's format: sentence, tab, 1 (positive) or 0 (negative); all English.
        lines = path.read_text(encoding="utf-8").splitlines()
        return [
            ("positive" if line.rsplit("\t", 1)[1] == "1" else "negative", "en", line.rsplit("\t", 1)[0])
            for line in lines
            if line.strip()
        ]
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["label"], row["language"] or None, row["text"]) for row in csv.DictReader(handle)]


def _drop_errors(result: dict) -> None:
    result["language"].pop("errors")
    for figures in result["sentiment"].values():
        figures.pop("errors")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
