"""Importing reference labels from a CSV file: conversation, intent, optional sub-intent, per row."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from bearscope.exceptions import BearScopeError
from kustomer.models import Conversation

from ..models import ImportedLabel, Intent

COLUMNS = ("conversation", "intent", "sub_intent")


class LabelFileError(BearScopeError, ValueError):
    """A labels file BearScope cannot read; the message says what is wrong."""


@dataclass
class LabelImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line number, what is wrong) for every row not imported
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def labels_csv_read(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header needs `conversation` and `intent`."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            missing = [name for name in COLUMNS[:2] if name not in header]
            if missing:
                raise LabelFileError(
                    f"{path.name} needs the columns {', '.join(COLUMNS)} (sub_intent optional); "
                    f"missing: {', '.join(missing)}."
                )
            reader.fieldnames = header
            return [
                (reader.line_num, {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)})
                for row in reader
            ]
    except OSError as exc:
        raise LabelFileError(f"Cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LabelFileError(f"{path.name} is not a UTF-8 CSV file: {exc}") from exc


def labels_import(*, rows: list[tuple[int, dict[str, str]]], source: str) -> LabelImportReport:
    """Store each valid row as the conversation's imported label (a later import wins); report the rest."""
    report = LabelImportReport(rows=len(rows))
    intents = {i.key: i for i in Intent.objects.filter(parent__isnull=True)}
    subs = {(s.parent_id, s.key): s for s in Intent.objects.filter(parent__isnull=False)}
    wanted = {row.get("conversation", "") for _, row in rows}
    conversations: dict[str, int] = {}
    in_two_orgs: set[str] = set()
    found = Conversation.objects.filter(kustomer_id__in=wanted).values_list("kustomer_id", "pk")
    for kustomer_id, pk in found:
        if kustomer_id in conversations:
            in_two_orgs.add(kustomer_id)
        conversations[kustomer_id] = pk
    with transaction.atomic():
        for line, row in rows:
            kustomer_id, intent_key = row.get("conversation", ""), row.get("intent", "")
            sub_key = row.get("sub_intent", "")
            if not kustomer_id or not intent_key:
                report.errors.append((line, "empty conversation or intent"))
                continue
            if kustomer_id in in_two_orgs:
                report.errors.append((line, f"conversation {kustomer_id} is in more than one Kustomer org"))
                continue
            if kustomer_id not in conversations:
                report.errors.append((line, f"unknown conversation {kustomer_id} (import its history first)"))
                continue
            intent = intents.get(intent_key)
            if intent is None:
                report.errors.append((line, f"unknown intent {intent_key!r}"))
                continue
            sub = subs.get((intent.pk, sub_key)) if sub_key else None
            if sub_key and sub is None:
                report.errors.append((line, f"unknown sub-intent {sub_key!r} of intent {intent_key!r}"))
                continue
            label, created = ImportedLabel.objects.get_or_create(
                conversation_id=conversations[kustomer_id],
                defaults={"intent": intent, "sub_intent": sub, "source": source[:255]},
            )
            if created:
                report.created += 1
            elif (label.intent_id, label.sub_intent_id) == (intent.pk, sub.pk if sub else None):
                report.unchanged += 1
            else:
                label.intent, label.sub_intent, label.source = intent, sub, source[:255]
                label.save(update_fields=["intent", "sub_intent", "source", "updated_at"])
                report.updated += 1
    return report
