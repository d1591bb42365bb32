"""Personal data kept no longer than needed: old webhook bodies, prompts and model answers are blanked."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.utils import timezone

from .sweeps import SweepStep

# The most rows one step blanks in a run (hourly): about 100,000 a day per kind, so a first run
# on a long history catches up over days instead of holding one long write.
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class Kept:
    """One kind of stored text with personal data: `text` on `model` (by name), dated by `dated`."""

    kind: str
    model: str
    dated: str
    text: str
    # Rows still in use keep their text whatever their age (an event not yet processed needs its body).
    keep: dict = field(default_factory=dict)


PRUNED = [
    Kept("webhook bodies", "kustomer.WebhookEvent", "received_at", "body", keep={"status": "received"}),
    Kept("classification prompt inputs", "classification.Classification", "created_at", "prompt_input"),
    Kept("insights prompt inputs", "intelligence.ConversationAnalysis", "created_at", "prompt_input"),
    # The model's answer as received: it quotes the customer (evidence), and its parsed fields stay.
    Kept("classification model answers", "classification.Classification", "created_at", "raw_output"),
    Kept("insights model answers", "intelligence.ConversationAnalysis", "created_at", "raw_output"),
]


def _pruner(kept: Kept, before) -> Callable[[], Sequence[int]]:
    def step() -> list[int]:
        model = apps.get_model(kept.model)
        rows = model.objects.filter(**{f"{kept.dated}__lt": before}).exclude(**{kept.text: ""})
        if kept.keep:
            rows = rows.exclude(**kept.keep)
        ids = list(rows.order_by(kept.dated).values_list("pk", flat=True)[:PRUNE_BATCH])
        model.objects.filter(pk__in=ids).update(**{kept.text: ""})
        return ids

    return step


def pii_prune_steps(*, older_than: timedelta) -> list[SweepStep]:
    """One sweeper step per kind in PRUNED: blank the text of rows dated before `older_than` ago."""
    before = timezone.now() - older_than
    return [(kept.kind, apps.get_model(kept.model), _pruner(kept, before)) for kept in PRUNED]
