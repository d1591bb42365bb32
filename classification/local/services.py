"""Training data, versions, CSV imports and the retrain schedule of the local classifier."""

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import sklearn
from django.db import transaction
from django.db.models import Max

from bearscope.queue import enqueue_on_commit

from ..models import ClassifierSettings, Intent, LabelledExample, LocalModelVersion, TriageReview
from .labelled import out_of_scope_examples, text_normalise
from .model import SEPARATOR, LocalClassifier, LocalModelError, artifact_dump, artifact_load, classifier_train

logger = logging.getLogger(__name__)

TRAIN_TASK = "classification.tasks.local_model_train"
# The scaffolding classification.prompting.conversation_text puts around the customer's words.
PROMPT_SCAFFOLDING = ("Customer messages:", "---", "[later messages cut]")


def label_for(intent: Intent, sub_intent: Intent | None) -> str:
    return f"{intent.key}{SEPARATOR}{sub_intent.key}" if sub_intent else intent.key


def local_text(prompt_input: str) -> str:
    """The subject and the customer's messages from a classification's prompt input, without scaffolding."""
    kept = []
    for line in prompt_input.splitlines():
        if line.startswith("Channel: ") or line.strip() in PROMPT_SCAFFOLDING:
            continue
        if line.startswith("Subject: "):
            line = line.removeprefix("Subject: ")
            if line == "(none)":
                continue
        kept.append(line.removesuffix(" [cut]"))
    return text_normalise("\n".join(kept))


@dataclass
class TrainingSet:
    texts: list[str]
    labels: list[str]
    sources: dict[str, int]
    last_review_id: int
    out_of_scope: list[str] = field(default_factory=list)  # the shipped examples of no one's request

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text, label in sorted(zip(self.texts, self.labels, strict=True)):
            digest.update(f"{label}\t{text}\n".encode())
        for text in self.out_of_scope:
            digest.update(f"\t{text}\n".encode())
        return digest.hexdigest()


def taxonomy_labels() -> dict[str, tuple[int, int | None]]:
    """label -> (intent id, sub-intent id or None), for active intents and their active sub-intents."""
    intents = {i.pk: i for i in Intent.objects.filter(active=True, parent__isnull=True)}
    labels: dict[str, tuple[int, int | None]] = {i.key: (pk, None) for pk, i in intents.items()}
    for sub in Intent.objects.filter(active=True, parent_id__in=intents):
        labels[label_for(intents[sub.parent_id], sub)] = (sub.parent_id, sub.pk)
    return labels


def training_set_build() -> TrainingSet:
    """Every labelled message the team has, one label per text, only labels of the active taxonomy.

    Sources in rising authority, the later winning a text they share: the example messages on the
    intents, CSV imports, then triage reviews (a reviewer's confirmation or correction).
    """
    labels = {ids: label for label, ids in taxonomy_labels().items()}
    chosen: dict[str, tuple[str, str]] = {}
    for intent in Intent.objects.filter(active=True):
        label = labels.get((intent.parent_id, intent.pk) if intent.parent_id else (intent.pk, None))
        for text in intent.example_list if label else []:
            chosen[text_normalise(text)] = (label, "intents")
    for text, intent_id, sub_id in LabelledExample.objects.order_by("pk").values_list(
        "text", "intent_id", "sub_intent_id"
    ):
        if label := labels.get((intent_id, sub_id)):
            chosen[text_normalise(text)] = (label, "imports")
    reviews = TriageReview.objects.order_by("pk").values_list(
        "classification__prompt_input", "intent_id", "sub_intent_id"
    )
    for prompt_input, intent_id, sub_id in reviews:
        text = local_text(prompt_input)
        if text and (label := labels.get((intent_id, sub_id))):
            chosen[text] = (label, "reviews")
    sources = Counter(source for _, source in chosen.values())
    return TrainingSet(
        texts=list(chosen),
        labels=[label for label, _ in chosen.values()],
        sources={name: sources.get(name, 0) for name in ("intents", "imports", "reviews")},
        last_review_id=TriageReview.objects.aggregate(last=Max("pk"))["last"] or 0,
        out_of_scope=out_of_scope_examples(),
    )


def local_model_train(
    *, trained_by: str, force: bool = False, activate: bool = True
) -> LocalModelVersion | None:
    """Train a new version on the current training set and (by default) make it the active one.

    None when the training data is exactly what the active version was trained on, unless `force`.
    Raises LocalModelError when there is not enough to train on or the model would be too big.
    """
    data = training_set_build()
    active = LocalModelVersion.objects.filter(active=True).only("data_sha256").first()
    if active and active.data_sha256 == data.fingerprint and not force:
        return None
    model, validation = classifier_train(data.texts, data.labels, out_of_scope=data.out_of_scope)
    artifact = artifact_dump(model)
    with transaction.atomic():
        version = LocalModelVersion.objects.create(
            trained_by=trained_by[:150],
            example_count=len(data.texts),
            label_count=len(set(data.labels)),
            sources=data.sources,
            last_review_id=data.last_review_id,
            data_sha256=data.fingerprint,
            validation=validation,
            train_seconds=validation["train_seconds"],
            sklearn_version=sklearn.__version__,
            artifact=artifact,
            artifact_bytes=len(artifact),
        )
        if activate:
            local_model_activate(version=version)
    logger.info("Trained %s on %d examples (%s)", version, len(data.texts), trained_by)
    return version


def local_model_activate(*, version: LocalModelVersion) -> None:
    """Make `version` the one every process classifies with (each loads it on its next use)."""
    with transaction.atomic():
        # The settings row is the lock: two activations at once would otherwise both deactivate
        # the old version and then collide on the one-active constraint.
        ClassifierSettings.load()
        ClassifierSettings.objects.select_for_update().get(pk=1)
        LocalModelVersion.objects.filter(active=True).exclude(pk=version.pk).update(active=False)
        LocalModelVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True


def local_model_train_enqueue(*, trained_by: str) -> None:
    enqueue_on_commit(TRAIN_TASK, trained_by)


def local_model_retrain_if_due() -> LocalModelVersion | None:
    """Retrain once enough triage reviews arrived since the active version was trained (the schedule)."""
    config = ClassifierSettings.load()
    active = LocalModelVersion.objects.filter(active=True).only("last_review_id").first()
    new_reviews = TriageReview.objects.filter(pk__gt=active.last_review_id if active else 0).count()
    if new_reviews < config.local_retrain_min_reviews:
        return None
    try:
        return local_model_train(trained_by=f"retrain schedule ({new_reviews} new reviews)")
    except LocalModelError as exc:
        logger.warning("Retraining the local classifier failed: %s", exc)
        return None


_loaded: dict = {"key": None, "model": None}
_loading = threading.Lock()


def local_model_active() -> tuple[LocalModelVersion, LocalClassifier] | None:
    """The active version (without its artifact) and its model, loaded once per process per version."""
    version = LocalModelVersion.objects.filter(active=True).defer("artifact").first()
    if version is None:
        return None
    # created_at too: a test database may hand out the same pk again after a rollback.
    key = (version.pk, version.created_at)
    with _loading:
        if _loaded["key"] != key:
            artifact = LocalModelVersion.objects.values_list("artifact", flat=True).get(pk=version.pk)
            try:
                model = artifact_load(artifact)
            except Exception:
                # Typically an artifact pickled by other code or another scikit-learn: classify
                # as if there were no local model (and say so in the log) until it is retrained.
                logger.exception("Cannot load %s (scikit-learn %s)", version, version.sklearn_version)
                model = None
            _loaded.update(key=key, model=model)
        model = _loaded["model"]
    return (version, model) if model is not None else None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown: Counter = field(default_factory=Counter)  # label -> rows
    unknown_lines: list[int] = field(default_factory=list)
    empty_lines: list[int] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def labelled_examples_import(*, rows: Iterable[tuple[int, str, str]], source: str) -> ImportReport:
    """Store labelled messages (line, text, label) for training; a text seen before takes the new label.

    Labels are intent keys or intent/sub_intent keys of the taxonomy (active or not); rows with
    any other label, or an empty cell, are reported and not stored.
    """
    resolve: dict[str, tuple[int, int | None]] = {}
    for intent in Intent.objects.select_related("parent"):
        if intent.parent_id:
            resolve[label_for(intent.parent, intent)] = (intent.parent_id, intent.pk)
        else:
            resolve[intent.key] = (intent.pk, None)
    report = ImportReport()
    wanted: dict[str, tuple[str, int, int | None]] = {}
    for line, text, label in rows:
        text = text_normalise(text)
        if not text or not label:
            report.empty_lines.append(line)
        elif label not in resolve:
            report.unknown[label] += 1
            report.unknown_lines.append(line)
        else:
            wanted[hashlib.sha256(text.encode()).hexdigest()] = (text, *resolve[label])
    with transaction.atomic():
        existing = LabelledExample.objects.in_bulk(list(wanted), field_name="text_sha256")
        changed = []
        for sha, (_text, intent_id, sub_id) in wanted.items():
            row = existing.get(sha)
            if row is None:
                continue
            if (row.intent_id, row.sub_intent_id) == (intent_id, sub_id):
                report.unchanged += 1
            else:
                row.intent_id, row.sub_intent_id, row.source = intent_id, sub_id, source[:255]
                changed.append(row)
        LabelledExample.objects.bulk_update(changed, ["intent", "sub_intent", "source"], batch_size=500)
        report.updated = len(changed)
        created = [
            LabelledExample(
                text=text, text_sha256=sha, intent_id=intent_id, sub_intent_id=sub_id, source=source[:255]
            )
            for sha, (text, intent_id, sub_id) in wanted.items()
            if sha not in existing
        ]
        LabelledExample.objects.bulk_create(created, batch_size=500)
        report.created = len(created)
    return report
