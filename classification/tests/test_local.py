"""The local classifier: what it learns, its three uses, its commands and its retrain schedule."""

import copy
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from bearscope.testing.factories import UserFactory
from bearscope.testing.messages_server import error, refusal, reply_json
from classification.local import labelled
from classification.local.encoder import encoder_load
from classification.local.model import LocalModelError, artifact_dump, artifact_load, classifier_train
from classification.local.services import local_model_retrain_if_due, local_model_train
from classification.models import (
    Classification,
    ClassifierSettings,
    Intent,
    LabelledExample,
    LocalModelVersion,
    PriorityLevel,
)
from classification.services.classifying import conversation_classify
from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read
from kustomer.models import Conversation, Message

from .factories import ClassificationFactory, TriageReviewFactory

# Messages written for these tests: none of them is an example message of the default taxonomy.
PARAPHRASES = [
    ("My parcel still hasn't arrived, where is it?", "shipping_issue/status"),
    ("I can't log into my account, I forgot my password", "account_access/recover_password"),
    ("Cancel my purchase from this morning please", "order_issue/manage_cancel"),
]
NONSENSE = [
    "What is the capital of Mongolia and how tall is the Eiffel tower",
    "asdf qwerty zxcv",
    "Please write me a poem about the sea",
]


def taxonomy_examples() -> tuple[list[str], list[str]]:
    return labelled.taxonomy_examples(taxonomy_read(DEFAULT_TAXONOMY))


@pytest.fixture(scope="module")
def trained():
    """A model trained on the default taxonomy's example messages (no database needed)."""
    texts, labels = taxonomy_examples()
    return classifier_train(texts, labels, out_of_scope=labelled.out_of_scope_examples())


class TestModel:
    def test_unseen_paraphrases_get_their_intent(self, trained):
        model, _ = trained
        texts, _ = taxonomy_examples()
        for text, label in PARAPHRASES:
            assert text not in texts
            assert model.predict(text).label == label, text

    def test_nonsense_gets_a_low_confidence(self, trained):
        model, _ = trained
        paraphrase_confidence = min(model.predict(text).confidence for text, _ in PARAPHRASES)
        for text in NONSENSE:
            confidence = model.predict(text).confidence
            assert confidence < 0.5, text
            assert confidence < paraphrase_confidence, text

    def test_validation_figures_are_cross_validated(self, trained):
        _, validation = trained
        assert "cross-validation" in validation["method"]
        assert 0.3 < validation["accuracy"] <= 1
        assert validation["thresholds"][0]["threshold"] == 0.5
        assert validation["intent_accuracy"] >= validation["accuracy"]
        assert validation["intent_thresholds"][-1]["threshold"] == 0.95

    def test_allowed_labels_limit_the_answer(self, trained):
        model, _ = trained
        prediction = model.predict(PARAPHRASES[0][0], allowed={"account_access/recover_password", "billing"})
        assert prediction.label in {"account_access/recover_password", "billing"}

    def test_artifact_round_trips_and_has_a_size_limit(self, trained):
        model, _ = trained
        again = artifact_load(artifact_dump(model))
        assert again.predict(PARAPHRASES[1][0]).label == PARAPHRASES[1][1]
        with pytest.raises(LocalModelError, match="above the"):
            artifact_dump(model, max_bytes=1000)

    def test_an_artifact_of_another_encoder_is_refused(self, trained):
        model, _ = trained
        other = copy.copy(model)
        other.encoder_id = "some other encoder sha256:0000"
        with pytest.raises(LocalModelError, match="trained with the sentence encoder some other encoder"):
            artifact_load(artifact_dump(other))

    def test_one_label_is_not_enough(self):
        with pytest.raises(LocalModelError, match="at least two labels"):
            classifier_train(["a", "b"], ["x", "x"])


class TestEncoder:
    def test_paraphrases_lie_closer_than_other_topics(self):
        texts = ["My card has not arrived yet", "When will the card you sent me get here?", "Will it rain?"]
        card, arrival, weather = encoder_load().embed(texts)
        assert np.allclose(np.linalg.norm([card, arrival, weather], axis=1), 1, atol=1e-3)
        assert card @ arrival > 0.5 > card @ weather

    def test_a_message_embeds_nearly_the_same_alone_or_padded_in_a_batch(self):
        # Not exactly: int8 activations are scaled per batch. Padding must not leak in, though.
        short = "pin blocked"
        alone = encoder_load().embed([short])[0]
        padded = encoder_load().embed([short, "A much longer message, so the short one gets padded"])[0]
        assert alone @ padded > 0.98


@pytest.fixture
def taxonomy(db):
    taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))


@pytest.fixture
def local_model(taxonomy) -> LocalModelVersion:
    return local_model_train(trained_by="test")


def conversation_with(text: str) -> Conversation:
    conversation = Conversation.objects.create(
        kustomer_id=f"c-{abs(hash(text))}", name="", channels=["email"], status="open"
    )
    Message.objects.create(
        kustomer_id=f"m-{abs(hash(text))}",
        conversation=conversation,
        direction="in",
        channel="email",
        body=text,
    )
    return conversation


@pytest.fixture
def claude(messages_server, settings):
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 5
    return messages_server


def configure(**fields) -> None:
    ClassifierSettings.objects.update_or_create(pk=1, defaults=fields)


@pytest.mark.django_db
class TestOfflineDefault:
    def test_without_a_key_the_local_model_classifies(self, local_model, settings):
        settings.ANTHROPIC_API_KEY = ""
        configure(auto_route_threshold="0.5")
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[0][0]).pk)
        assert (classification.provider, classification.provider_reason) == ("local", "offline_default")
        assert (classification.intent.key, classification.sub_intent.key) == ("shipping_issue", "status")
        assert classification.local_model == local_model
        assert classification.route == "auto"
        assert classification.model_id == f"local-v{local_model.pk}"

    def test_a_confident_intent_routes_without_an_unconfident_sub_intent(self, local_model, settings):
        settings.ANTHROPIC_API_KEY = ""
        text = "I've got a promo code and I want to know when they expire, it's for some hats"
        prediction = artifact_load(local_model.artifact).predict(text)
        assert prediction.sub_intent
        assert prediction.sub_intent_confidence < prediction.intent_confidence - 0.05
        # A threshold between the two: the intent reaches it, the sub-intent does not.
        threshold = (prediction.intent_confidence + prediction.sub_intent_confidence) / 2
        configure(auto_route_threshold=f"{threshold:.3f}")
        classification = conversation_classify(conversation_pk=conversation_with(text).pk)
        assert (classification.route, classification.intent.key) == ("auto", prediction.intent)
        assert classification.sub_intent is None and classification.sub_intent_confidence is None
        assert classification.confidence == pytest.approx(prediction.intent_confidence, abs=1e-4)
        assert f"sub-intent not confident: {prediction.sub_intent}" in classification.rationale

    def test_nonsense_goes_to_triage(self, local_model, settings):
        settings.ANTHROPIC_API_KEY = ""
        configure(auto_route_threshold="0.5")
        classification = conversation_classify(conversation_pk=conversation_with(NONSENSE[0]).pk)
        assert classification.provider == "local"
        assert (classification.route, classification.route_reason) == ("triage", "low_confidence")

    def test_switched_off_it_says_no_classifier(self, local_model, settings):
        settings.ANTHROPIC_API_KEY = ""
        configure(local_offline_default=False)
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[0][0]).pk)
        assert (classification.route, classification.route_reason) == ("triage", "no_classifier")


@pytest.mark.django_db
class TestFallback:
    def test_claude_failing_falls_back_to_triage_below_the_fallback_threshold(self, local_model, claude):
        # No calibrated probability reaches 1.
        configure(local_fallback_threshold="1")
        claude.script(error(500, "api_error", "boom"))
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[1][0]).pk)
        assert (classification.provider, classification.provider_reason) == (
            "local",
            "fallback_after_claude_error",
        )
        # Below the threshold the sub-intent is left empty, and the rationale says which it was.
        assert classification.sub_intent is None
        assert "sub-intent not confident: recover_password" in classification.rationale
        assert (classification.route, classification.route_reason) == ("triage", "classifier_error")
        assert "boom" in classification.error

    def test_a_confident_fallback_routes_automatically(self, local_model, claude):
        configure(local_fallback_threshold="0.3")
        claude.script(error(529, "overloaded_error", "busy"))
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[1][0]).pk)
        assert classification.provider_reason == "fallback_after_claude_error"
        assert (classification.route, classification.route_reason) == ("auto", "")
        assert classification.sub_intent.key == "recover_password"
        assert classification.sub_intent_confidence <= classification.confidence

    def test_a_refusal_is_not_second_guessed(self, local_model, claude):
        claude.script(refusal())
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[1][0]).pk)
        assert classification.provider == "claude"
        assert (classification.route, classification.route_reason) == ("triage", "refusal")

    def test_fallback_off_leaves_claude_s_error(self, local_model, claude):
        configure(local_fallback=False)
        claude.script(error(500, "api_error", "boom"))
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[1][0]).pk)
        assert classification.provider == "claude"
        assert classification.local_label == ""
        assert classification.route_reason == "classifier_error"


@pytest.mark.django_db
class TestCascade:
    def test_a_confident_local_answer_skips_claude(self, local_model, claude):
        high = PriorityLevel.objects.get(key="high")
        Intent.objects.filter(key="order_issue", parent=None).update(default_priority=high)
        configure(local_cascade=True, local_cascade_threshold="0.5", auto_route_threshold="0.5")
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[2][0]).pk)
        assert claude.message_requests == []
        assert (classification.provider, classification.provider_reason) == ("local", "cascade_confident")
        assert classification.sub_intent.key == "manage_cancel"
        assert classification.priority == high
        assert classification.complexity is not None
        assert classification.route == "auto"

    def test_below_the_cascade_threshold_claude_decides(self, local_model, claude):
        configure(local_cascade=True, local_cascade_threshold="1")
        claude.script(
            reply_json(
                {
                    "intent": "order_issue",
                    "sub_intent": "manage_cancel",
                    "priority": "normal",
                    "complexity": "simple",
                    "confidence": 0.95,
                    "rationale": "Wants to cancel.",
                    "entities": {"order_number": None, "email": None, "language": "en"},
                }
            )
        )
        classification = conversation_classify(conversation_pk=conversation_with(PARAPHRASES[2][0]).pk)
        assert len(claude.message_requests) == 1
        assert (classification.provider, classification.provider_reason) == (
            "claude",
            "cascade_not_confident",
        )
        assert classification.local_label == "order_issue/manage_cancel"
        assert classification.route == "auto"


CSV = """text,label
Where has my parcel got to?,shipping_issue/status
My package is lost,shipping_issue/missing
Can you teleport me to Mars?,space_travel
,shipping_issue/status
"""


@pytest.mark.django_db
class TestCommands:
    def test_import_reports_unknown_labels_and_empty_rows(self, taxonomy, tmp_path):
        path = tmp_path / "labelled.csv"
        path.write_text(CSV, encoding="utf-8")
        out = StringIO()
        call_command("classifier_import", str(path), stdout=out)
        output = out.getvalue()
        assert LabelledExample.objects.count() == 2
        assert "Imported 2 of 4 rows" in output
        assert "'space_travel': 1 row(s)" in output
        assert "lines: 4" in output
        assert "empty text or label, lines: 5" in output

    def test_import_again_relabels(self, taxonomy, tmp_path):
        path = tmp_path / "labelled.csv"
        path.write_text("message,intent\nMy package is lost,shipping_issue/status\n", encoding="utf-8")
        call_command("classifier_import", str(path), stdout=StringIO())
        path.write_text("message,intent\nMy package is lost,shipping_issue/missing\n", encoding="utf-8")
        out = StringIO()
        call_command("classifier_import", str(path), stdout=out)
        assert "1 relabelled" in out.getvalue()
        assert LabelledExample.objects.get().sub_intent.key == "missing"

    def test_import_without_a_label_column_is_a_clear_error(self, taxonomy, tmp_path):
        path = tmp_path / "bad.csv"
        path.write_text("text,tag\nhello,x\n", encoding="utf-8")
        with pytest.raises(CommandError, match="no label column"):
            call_command("classifier_import", str(path))

    def test_train_records_a_version_and_skips_unchanged_data(self, taxonomy):
        out = StringIO()
        call_command("classifier_train", stdout=out)
        version = LocalModelVersion.objects.get()
        assert version.active
        assert version.example_count > 500
        assert version.sources["intents"] == version.example_count
        assert 0 < version.artifact_bytes < 50_000_000
        assert "now active" in out.getvalue()
        assert "(intent alone 0." in out.getvalue()
        assert version.validation["out_of_scope_examples"] > 100
        out = StringIO()
        call_command("classifier_train", stdout=out)
        assert "nothing to do" in out.getvalue()
        assert LocalModelVersion.objects.count() == 1

    def test_eval_prints_one_json_object(self, tmp_path):
        texts, labels = taxonomy_examples()
        train, test = tmp_path / "train.csv", tmp_path / "test.csv"
        rows = [f'"{t}",{label}' for t, label in zip(texts, labels, strict=True)]
        train.write_text("text,label\n" + "\n".join(rows), encoding="utf-8")
        test.write_text(
            "text,label\n" + "\n".join(f'"{t}",{label}' for t, label in PARAPHRASES), encoding="utf-8"
        )
        out = StringIO()
        call_command("classifier_eval", "--train", str(train), "--test", str(test), "--json", stdout=out)
        result = json.loads(out.getvalue())
        assert result["accuracy"] == 1.0
        assert result["train_seconds"] > 0
        assert result["encoder"].startswith("all-MiniLM-L6-v2")
        assert {"threshold", "coverage", "precision"} <= set(result["thresholds"][0])
        assert [row["threshold"] for row in result["thresholds"]] == [
            0.5,
            0.55,
            0.6,
            0.65,
            0.7,
            0.75,
            0.8,
            0.85,
            0.9,
            0.95,
        ]
        assert result["latency_ms"]["p99"] > 0
        assert result["out_of_scope"]["messages"] > 10

    def test_eval_needs_files(self):
        with pytest.raises(CommandError, match="--train FILE and --test FILE"):
            call_command("classifier_eval", "--train", "x.csv")


@pytest.mark.django_db
class TestRetrain:
    def test_retrains_only_once_enough_reviews_arrived(self, local_model):
        configure(local_retrain_min_reviews=2)
        reviewer = UserFactory(username="maya", reviewer=True)
        intent = Intent.objects.get(key="shipping_issue", parent=None)
        sub = Intent.objects.get(key="missing", parent=intent)

        def review(text: str) -> None:
            classification = ClassificationFactory(
                conversation=conversation_with(text), prompt_input=f"Channel: email\nSubject: (none)\n{text}"
            )
            TriageReviewFactory(
                classification=classification, reviewer=reviewer, intent=intent, sub_intent=sub
            )

        review("The courier says delivered but nothing is at my door")
        assert local_model_retrain_if_due() is None
        review("Tracking shows delivered, I never got the box")
        version = local_model_retrain_if_due()
        assert version is not None and version.active
        assert version.sources["reviews"] == 2
        assert "2 new reviews" in version.trained_by
        assert not LocalModelVersion.objects.get(pk=local_model.pk).active
        assert Classification.objects.count() == 2


@pytest.mark.django_db
class TestAdmin:
    def test_versions_show_their_figures_and_the_settings_name_the_active_one(
        self, local_model, admin_client
    ):
        page = admin_client.get("/admin/classification/localmodelversion/").content.decode()
        assert str(local_model) in page
        assert "Train a new version now" in page
        detail = admin_client.get(f"/admin/classification/localmodelversion/{local_model.pk}/change/")
        assert "cross-validation" in detail.content.decode()
        assert "confidence at least" in detail.content.decode()
        settings_page = admin_client.get("/admin/classification/classifiersettings/1/change/")
        assert f"{local_model}</a>: trained" in settings_page.content.decode()

    def test_activate_switches_the_active_version(self, local_model, admin_client):
        newer = local_model_train(trained_by="test", force=True)
        assert newer.active
        admin_client.post(
            "/admin/classification/localmodelversion/",
            {"action": "activate", "_selected_action": [local_model.pk]},
        )
        assert LocalModelVersion.objects.get(active=True) == local_model

    def test_train_button_queues_training(self, taxonomy, admin_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post("/admin/classification/localmodelversion/train/", follow=True)
        assert "Training started on a worker" in response.content.decode()
        # The test settings run django-q2 tasks synchronously: the worker's part is done already.
        assert LocalModelVersion.objects.get(active=True).trained_by == "admin (admin)"
