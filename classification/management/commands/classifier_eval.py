"""Benchmark the local classifier: train on one labelled CSV and evaluate on another (or a split), or train on
the default taxonomy's examples and evaluate the local tier's routing on a held-out set."""

import json
import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from sklearn.model_selection import train_test_split

from bearscope.pii import KnownPerson, Redactor
from classification.local.encoder import DIMENSIONS
from classification.local.heldout import Answer, heldout_figures, heldout_read, sample_conversations
from classification.local.labelled import out_of_scope_examples, taxonomy_examples
from classification.local.model import (
    ARTIFACT_MAX_BYTES,
    OUT_OF_SCOPE,
    LocalModelError,
    artifact_dump,
    cascade_threshold_pick,
    classifier_train,
    evaluation_figures,
    labelled_csv_read,
    latency_ms,
)
from classification.taxonomy import DEFAULT_TAXONOMY, TaxonomyFileError, taxonomy_read

DEFAULT_OUT_OF_SCOPE = Path(__file__).resolve().parents[2] / "data" / "out_of_scope.txt"
CASCADE_PRECISION = 0.98
# The pipeline's defaults (ClassifierSettings.auto_route_threshold, AutoReplyPolicy.threshold).
AUTO_ROUTE = 0.90
AUTO_REPLY = 0.95


class Command(BaseCommand):
    help = (
        "Train the local classifier on --train and evaluate it on --test (or split --split-from into "
        "both): accuracy, macro-F1, coverage and precision at confidence thresholds 0.5 to 0.95, the "
        "cascade threshold reaching 98%% precision, training time, p50/p99 latency of one prediction, "
        "artifact size, and the confidence given to out-of-scope messages. With --heldout, train on the "
        "taxonomy's example messages as a fresh install does and print what would route automatically "
        "and how right it is, the calibration, out-of-scope messages routed and per-intent figures. "
        "Touches no database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", type=Path, help="labelled CSV to train on")
        parser.add_argument("--test", type=Path, help="labelled CSV to evaluate on")
        parser.add_argument("--split-from", type=Path, help="one labelled CSV, split into train and test")
        parser.add_argument("--test-size", type=float, default=0.2, help="held-out share (default 0.2)")
        parser.add_argument("--seed", type=int, default=7, help="seed of the stratified split (default 7)")
        parser.add_argument(
            "--out-of-scope",
            type=Path,
            default=DEFAULT_OUT_OF_SCOPE,
            help="messages unlike any intent, one per line (default: classification/data/out_of_scope.txt)",
        )
        parser.add_argument(
            "--heldout", type=Path, help="held-out CSV (text,intent,sub_intent; intent empty: out of scope)"
        )
        parser.add_argument(
            "--taxonomy",
            type=Path,
            default=DEFAULT_TAXONOMY,
            help="with --heldout: the taxonomy file whose examples to train on (default: the default one)",
        )
        parser.add_argument(
            "--samples",
            type=Path,
            help="with --heldout: also classify the sample conversations of a sandbox seed file",
        )
        parser.add_argument("--threshold", type=float, default=AUTO_ROUTE, help="auto-route threshold (0.90)")
        parser.add_argument("--jobs", type=int, default=2, help="threads for training (default 2)")
        parser.add_argument(
            "--redact",
            action="store_true",
            help="redact personal data from every message first, as the pipeline does before a model",
        )
        parser.add_argument(
            "--contact-lines",
            action="store_true",
            help="sign every message with a made-up name, email address and phone number (what redaction "
            "does to text carrying personal data; with --redact the name is known, as a record's would be)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        if options["heldout"]:
            self._heldout(options)
            return
        train, test, described = self._data(options)
        redacted = None
        if options["contact_lines"]:
            train, test = _signed(train, start=0), _signed(test, start=len(train[0]))
            described += ", each message signed with a made-up name, email and phone"
        if options["redact"]:
            train, test, redacted = _redacted(train), _redacted(test), {}
            for kind_counts in (train[2], test[2]):
                for kind, count in kind_counts.items():
                    redacted[kind] = redacted.get(kind, 0) + count
            train, test = train[:2], test[:2]
            described += ", personal data redacted"
        started = time.perf_counter()
        try:
            model, validation = classifier_train(
                train[0], train[1], out_of_scope=out_of_scope_examples(), n_jobs=options["jobs"]
            )
        except LocalModelError as exc:
            raise CommandError(str(exc)) from exc
        train_seconds = time.perf_counter() - started
        predictions = model.predict_many(test[0])
        figures = evaluation_figures(
            [p.label for p in predictions], test[1], [p.confidence for p in predictions]
        )
        cascade = cascade_threshold_pick(figures["thresholds"], CASCADE_PRECISION)
        result = {
            "data": described,
            "train_examples": len(train[0]),
            "test_examples": len(test[0]),
            "labels": len(model.labels) - (OUT_OF_SCOPE in model.labels),
            "accuracy": figures["accuracy"],
            "macro_f1": figures["macro_f1"],
            "train_seconds": round(train_seconds, 2),
            "latency_ms": latency_ms(model, test[0]),
            "thresholds": figures["thresholds"],
            "cascade": cascade,
            "artifact_bytes": len(artifact_dump(model, max_bytes=ARTIFACT_MAX_BYTES * 100)),
            "features": model.features.size,
            "encoder": model.encoder_id,
            "cross_validated_accuracy": validation["accuracy"],
            "out_of_scope": self._out_of_scope(model, options["out_of_scope"], cascade),
            "redacted": redacted,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print(result)

    def _data(self, options: dict) -> tuple[tuple[list, list], tuple[list, list], str]:
        def read(path: Path) -> tuple[list[str], list[str]]:
            try:
                rows = [(text, label) for _, text, label in labelled_csv_read(path) if text and label]
            except LocalModelError as exc:
                raise CommandError(str(exc)) from exc
            if not rows:
                raise CommandError(f"{path} has no labelled rows.")
            return [text for text, _ in rows], [label for _, label in rows]

        if options["split_from"]:
            if options["train"] or options["test"]:
                raise CommandError("Give either --split-from or --train and --test, not both.")
            texts, labels = read(options["split_from"])
            try:
                train_x, test_x, train_y, test_y = train_test_split(
                    texts,
                    labels,
                    test_size=options["test_size"],
                    random_state=options["seed"],
                    stratify=labels,
                )
            except ValueError as exc:
                raise CommandError(f"Cannot split {options['split_from']}: {exc}") from exc
            described = (
                f"{options['split_from'].name}, stratified split: {1 - options['test_size']:.0%} train, "
                f"{options['test_size']:.0%} held out, seed {options['seed']}"
            )
            return (train_x, train_y), (test_x, test_y), described
        if not (options["train"] and options["test"]):
            raise CommandError("Give --train FILE and --test FILE, or --split-from FILE.")
        described = f"train {options['train'].name}, test {options['test'].name}"
        return read(options["train"]), read(options["test"]), described

    def _out_of_scope(self, model, path: Path, cascade: dict | None) -> dict | None:
        if not path or not path.exists():
            return None
        messages = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        messages = [m for m in messages if m and not m.startswith("#")]
        if not messages:
            return None
        confidence = np.array([p.confidence for p in model.predict_many(messages)])
        cascade_threshold = cascade["threshold"] if cascade else None
        return {
            "messages": len(messages),
            "mean_confidence": round(float(confidence.mean()), 3),
            "below_0_5": round(float((confidence < 0.5).mean()), 4),
            "below_cascade_threshold": round(float((confidence < cascade_threshold).mean()), 4)
            if cascade_threshold
            else None,
        }

    def _print(self, r: dict) -> None:
        write = self.stdout.write
        write(f"Local classifier evaluation ({r['data']})")
        write(
            f"  train {r['train_examples']} examples, {r['labels']} labels; "
            f"test {r['test_examples']} examples"
        )
        write(f"  accuracy {r['accuracy']:.4f}   macro-F1 {r['macro_f1']:.4f}")
        if r["redacted"] is not None:
            items = ", ".join(f"{kind} {count}" for kind, count in r["redacted"].items() if count) or "none"
            write(f"  personal items redacted: {items}")
        latency = r["latency_ms"]
        write(
            f"  training {r['train_seconds']:.1f} s   prediction p50 {latency['p50']:.2f} ms, "
            f"p99 {latency['p99']:.2f} ms (one message at a time, {latency['count']} messages)"
        )
        write(
            f"  artifact {r['artifact_bytes'] / 1e6:.1f} MB (limit {ARTIFACT_MAX_BYTES / 1e6:.0f} MB), "
            f"{r['features']} TF-IDF features + the {DIMENSIONS}-dimension embedding of {r['encoder']}"
        )
        write("")
        write("  threshold  coverage  precision")
        for row in r["thresholds"]:
            precision = f"{row['precision']:.2%}" if row["precision"] is not None else "-"
            write(f"  {row['threshold']:<9.2f}  {row['coverage']:>8.1%}  {precision:>9}")
        write("")
        cascade = r["cascade"]
        if cascade:
            write(
                f"  cascade threshold (lowest with precision >= {CASCADE_PRECISION:.0%}): "
                f"{cascade['threshold']:.2f} -> coverage {cascade['coverage']:.1%}, "
                f"precision {cascade['precision']:.2%}"
            )
        else:
            write(f"  no threshold reaches {CASCADE_PRECISION:.0%} precision")
        oos = r["out_of_scope"]
        if oos:
            line = (
                f"  out of scope: {oos['messages']} messages, mean confidence {oos['mean_confidence']:.2f}, "
                f"{oos['below_0_5']:.1%} below 0.50"
            )
            if oos["below_cascade_threshold"] is not None:
                line += f", {oos['below_cascade_threshold']:.1%} below the cascade threshold"
            write(line)

    def _heldout(self, options: dict) -> None:
        if options["train"] or options["test"] or options["split_from"]:
            raise CommandError("Give --heldout alone: it trains on the taxonomy's example messages.")
        try:
            texts, labels = taxonomy_examples(taxonomy_read(options["taxonomy"]))
            rows = heldout_read(options["heldout"])
            started = time.perf_counter()
            model, validation = classifier_train(
                texts, labels, out_of_scope=out_of_scope_examples(), n_jobs=options["jobs"]
            )
        except (LocalModelError, TaxonomyFileError) as exc:
            raise CommandError(str(exc)) from exc
        train_seconds = time.perf_counter() - started
        answers = [_answer(p) for p in model.predict_many([row.text for row in rows])]
        result = {
            "data": f"held out {options['heldout'].name}, trained on {options['taxonomy'].name}",
            "train_examples": len(texts),
            "labels": len(model.labels) - (OUT_OF_SCOPE in model.labels),
            "train_seconds": round(train_seconds, 2),
            "cross_validated_accuracy": validation["accuracy"],
            **heldout_figures(rows, answers, options["threshold"], AUTO_REPLY),
        }
        if options["samples"]:
            samples = sample_conversations(options["samples"])
            predictions = model.predict_many([text for _, text in samples])
            result["samples"] = [
                {"id": id_, "text": text[:200], **vars(_answer(p))}
                for (id_, text), p in zip(samples, predictions, strict=True)
            ]
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print_heldout(result)

    def _print_heldout(self, r: dict) -> None:
        write, t = self.stdout.write, r["threshold"]

        def pct(value: float | None) -> str:
            return "-" if value is None else f"{value:.1%}"

        write(f"Local tier on held-out messages ({r['data']})")
        write(
            f"  trained on {r['train_examples']} examples, {r['labels']} labels, in "
            f"{r['train_seconds']:.1f} s (cross-validated accuracy {r['cross_validated_accuracy']:.3f})"
        )
        write(f"  {r['in_scope']} in-scope messages, {r['out_of_scope']} out of scope or greeting only")
        write(
            f"  top answer right: intent {pct(r['top_intent_accuracy'])}, "
            f"full label {pct(r['top_label_accuracy'])}"
        )
        write(
            f"  routed automatically at {t:.2f}: {pct(r['routed_share'])} of in-scope messages; of those, "
            f"intent right {pct(r['routed_intent_accuracy'])}, label right {pct(r['routed_label_accuracy'])} "
            f"(sub-intent given for {pct(r['routed_with_sub_intent_share'])}, "
            f"right {pct(r['routed_sub_intent_accuracy'])})"
        )
        write(
            f"  out of scope or greeting only routed at {t:.2f}: {pct(r['out_of_scope_routed_share'])} "
            f"(mean confidence {r['out_of_scope_mean_confidence']:.2f})"
        )
        reply = r["full_label_at_reply_threshold"]
        write(
            f"  full label at the auto-reply threshold {reply['threshold']:.2f}: {pct(reply['share'])} of "
            f"all messages, right {pct(reply['precision'])}"
        )
        for name, key in (
            ("intent confidence", "intent_calibration"),
            ("label confidence", "label_calibration"),
        ):
            table = r[key]
            write("")
            write(
                f"  {name}: ECE {table['ece']:.3f} (10 equal-width bands; out-of-scope messages are misses)"
            )
            write("  band      messages  mean confidence  accuracy")
            for band in table["bands"]:
                if band["count"]:
                    write(
                        f"  {band['band']:<8}  {band['count']:>8}  {band['mean_confidence']:>15.3f}  "
                        f"{band['accuracy']:>8.1%}"
                    )
        write("")
        write("  intent                  messages  top right  routed  routed right  routed as it  precision")
        for intent, f in r["per_intent"].items():
            write(
                f"  {intent:<22}  {f['messages']:>8}  {pct(f['top_intent_accuracy']):>9}  "
                f"{pct(f['routed_share']):>6}  {pct(f['routed_intent_accuracy']):>12}  "
                f"{f['routed_as_it']:>12}  {pct(f['routed_as_it_precision']):>9}"
            )
        if r.get("samples"):
            write("")
            write("  sample conversations (subject and first message), intent/label confidence:")
            for s in r["samples"]:
                route = "auto" if s["confidence"] >= t else "triage"
                written = s["label"] if s["label_confidence"] >= t else s["intent"]
                text = " ".join(s["text"].split())[:60]
                write(
                    f"  {s['id'][-3:]}  {route:<6}  {written:<40}  "
                    f"{s['confidence']:.2f}/{s['label_confidence']:.2f}  {text}"
                )


FIRST_NAMES = ("Maya", "Daniel", "Ava", "Noah", "Priya", "Lukas", "Sofia", "Kenji", "Amara", "Mateo", "Chloe")
LAST_NAMES = ("Patel", "Okafor", "Thompson", "Lindqvist", "Garcia", "Nakamura", "Rossi", "Dubois", "Mensah")
AREA_CODES = ("212", "312", "415", "617", "206", "303", "512")


def _signer(index: int) -> str:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]}"


def _signed(data: tuple[list[str], list[str]], *, start: int) -> tuple[list[str], list[str]]:
    """Each text signed by a made-up customer (deterministic: the same run gives the same signatures)."""
    texts = []
    for index, text in enumerate(data[0], start):
        name = _signer(index)
        email = f"{name.lower().replace(' ', '.')}{index % 97}@example.com"
        phone = f"({AREA_CODES[index % len(AREA_CODES)]}) 555-{index % 10000:04d}"
        texts.append(f"{text}\n\nThanks, {name}\n{email} | {phone}")
    return texts, data[1]


def _redacted(data: tuple[list[str], list[str]]) -> tuple[list[str], list[str], dict[str, int]]:
    """The texts as the model would read them (one redactor per message: each is its own conversation);
    the signer of a signed text is known, as the customer record's name is in the pipeline."""
    texts, counts = [], {}
    for text in data[0]:
        signer = text.rpartition("\n\nThanks, ")[2].partition("\n")[0]
        redactor = Redactor(known=KnownPerson.of(names=[signer]) if signer != text else None)
        texts.append(redactor.redact(text))
        for kind, count in redactor.counts().items():
            counts[kind] = counts.get(kind, 0) + count
    return texts, data[1], counts


def _answer(prediction) -> Answer:
    return Answer(
        intent=prediction.intent,
        confidence=prediction.intent_confidence,
        label=prediction.label,
        label_confidence=prediction.confidence,
    )
