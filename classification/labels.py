"""Reference labels, the yardstick of backtests: triage reviews, a contact reason agents set, CSV imports.

Precedence, lowest first, a later source winning a conversation they share:
1. triage review: a reviewer's confirmation or correction of the current classification;
2. contact reason: a conversation attribute agents fill in (contactReasonStr, say), mapped to an
   intent (and sub-intent) in the admin (Classification > Contact reason mappings);
3. imported: a row of `manage.py backtest_labels_import FILE.csv`, the most deliberate of the three.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from kustomer.models import Conversation
from kustomer.payloads import custom_attribute_text

from .models import Classification, ContactReasonMapping, ImportedLabel


class LabelSource(models.TextChoices):
    REVIEW = "review", "Triage review"
    CONTACT_REASON = "contact_reason", "Contact reason"
    IMPORTED = "imported", "Imported file"


@dataclass(frozen=True)
class ReferenceLabel:
    intent: str
    sub_intent: str  # '' when the label names the intent only
    source: str  # a LabelSource


def reference_labels(*, conversation_ids: Iterable[int]) -> dict[int, ReferenceLabel]:
    """conversation pk -> its reference label, for those of `conversation_ids` that have one."""
    ids = list(conversation_ids)
    labels: dict[int, ReferenceLabel] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        labels.update(_reviewed(chunk))
        labels.update(_contact_reasons(chunk))
        labels.update(_imported(chunk))
    return labels


def _reviewed(ids: list[int]) -> dict[int, ReferenceLabel]:
    rows = (
        Classification.objects.filter(conversation_id__in=ids, review__isnull=False)
        .order_by("review__created_at")  # the latest review of a conversation wins
        .values_list("conversation_id", "review__intent__key", "review__sub_intent__key")
    )
    return {pk: ReferenceLabel(intent, sub or "", LabelSource.REVIEW) for pk, intent, sub in rows}


def _contact_reasons(ids: list[int]) -> dict[int, ReferenceLabel]:
    mappings: dict[str, dict[str, ContactReasonMapping]] = {}
    for mapping in ContactReasonMapping.objects.select_related("intent", "sub_intent"):
        mappings.setdefault(mapping.attribute, {})[mapping.value.casefold()] = mapping
    if not mappings:
        return {}
    labels = {}
    for pk, custom in Conversation.objects.filter(pk__in=ids).values_list("pk", "custom"):
        for attribute, values in mappings.items():
            mapping = values.get(custom_attribute_text(custom, attribute).casefold())
            if mapping is not None:
                sub = mapping.sub_intent.key if mapping.sub_intent else ""
                labels[pk] = ReferenceLabel(mapping.intent.key, sub, LabelSource.CONTACT_REASON)
                break
    return labels


def _imported(ids: list[int]) -> dict[int, ReferenceLabel]:
    rows = ImportedLabel.objects.filter(conversation_id__in=ids).values_list(
        "conversation_id", "intent__key", "sub_intent__key"
    )
    return {pk: ReferenceLabel(intent, sub or "", LabelSource.IMPORTED) for pk, intent, sub in rows}
