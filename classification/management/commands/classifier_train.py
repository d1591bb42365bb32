"""Train the local classifier on every labelled message and make it the active version."""

from django.core.management.base import BaseCommand, CommandError

from classification.local.model import LocalModelError
from classification.local.services import local_model_train


class Command(BaseCommand):
    help = (
        "Train a new version of the local classifier on the intents' example messages, CSV imports and "
        "triage reviews, and make it the active one. Does nothing when the training data has not changed "
        "since the active version, unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="train even if the data has not changed")
        parser.add_argument(
            "--no-activate",
            action="store_true",
            help="keep the current version active (activate in the admin)",
        )
        parser.add_argument(
            "--trained-by", default="manage.py classifier_train", help="recorded on the version"
        )

    def handle(self, *args, force: bool, no_activate: bool, trained_by: str, **options) -> None:
        try:
            version = local_model_train(trained_by=trained_by, force=force, activate=not no_activate)
        except LocalModelError as exc:
            raise CommandError(str(exc)) from exc
        if version is None:
            self.stdout.write("The training data has not changed since the active version; nothing to do.")
            return
        figures = version.validation
        sources = ", ".join(f"{n} from {source}" for source, n in version.sources.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Trained {version} on {version.example_count} examples ({sources}), {version.label_count} "
                f"labels, in {version.train_seconds:.1f} s; {version.artifact_bytes / 1e6:.1f} MB"
                + ("" if no_activate else "; now active")
                + "."
            )
        )
        self.stdout.write(
            f"{figures['method']}: accuracy {figures['accuracy']:.3f} (intent alone "
            f"{figures['intent_accuracy']:.3f}), macro-F1 {figures['macro_f1']:.3f}; "
            f"{figures['out_of_scope_examples']} out-of-scope examples trained as no one's request"
        )
