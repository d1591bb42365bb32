"""Labelled messages for training or evaluation: from a CSV file or a taxonomy file's examples."""

import csv
from pathlib import Path

from .classifier import SEPARATOR, LocalModelError

TEXT_COLUMNS = ("text", "message", "body")
LABEL_COLUMNS = ("label", "category", "intent")
OUT_OF_SCOPE_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "out_of_scope_train.txt"


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
                    label = f"{label}{SEPARATOR}{sub}"
                rows.append((reader.line_num, (row.get(text_column) or "").strip(), label))
            return rows
    except OSError as exc:
        raise LocalModelError(f"Cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LocalModelError(f"{path} is not a UTF-8 CSV file: {exc}") from exc


def text_normalise(text: str) -> str:
    return " ".join(text.split())


def taxonomy_examples(data: dict) -> tuple[list[str], list[str]]:
    """The example messages of a taxonomy file's intents and sub-intents with their labels: what a fresh
    install trains on (as classification.local.services.training_set_build would read them)."""
    chosen: dict[str, str] = {}
    for intent in data["intents"]:
        for text in intent.get("examples", []):
            chosen[text_normalise(text)] = intent["key"]
        for sub in intent.get("sub_intents", []):
            for text in sub.get("examples", []):
                chosen[text_normalise(text)] = f"{intent['key']}{SEPARATOR}{sub['key']}"
    return list(chosen), list(chosen.values())


def out_of_scope_examples(path: Path = OUT_OF_SCOPE_EXAMPLES) -> list[str]:
    """The shipped messages that are no one's request, one per line (# starts a comment)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LocalModelError(f"Cannot read {path}: {exc.strerror}") from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
