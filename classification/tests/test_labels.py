"""Reference labels from triage reviews, a contact reason and imported files, and their precedence."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from classification.labels import LabelSource, ReferenceLabel, reference_labels
from classification.models import ContactReasonMapping, ImportedLabel, TriageReview
from kustomer.tests.factories import ConversationFactory

from .factories import ClassificationFactory

pytestmark = pytest.mark.django_db


def reviewed(conversation, intent, sub_intent, taxonomy, reviewer):
    classification = ClassificationFactory(conversation=conversation, intent=taxonomy.order)
    TriageReview.objects.create(
        classification=classification,
        reviewer=reviewer,
        intent=intent,
        sub_intent=sub_intent,
        priority=taxonomy.normal,
        complexity=taxonomy.simple,
        agreed=False,
    )


def import_labels(tmp_path, text: str, name: str = "labels.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("backtest_labels_import", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def three(taxonomy, reviewer):
    """Conversation a: all three sources; b: review and contact reason; c: review only; d: none."""
    a, b, c, d = (
        ConversationFactory(kustomer_id=f"conv-{name}", custom={"contactReasonStr": "Order status"})
        for name in "abcd"
    )
    c.custom = d.custom = {}
    c.save()
    d.save()
    ContactReasonMapping.objects.create(
        attribute="contactReasonStr",
        value="order status",
        intent=taxonomy.shipping,
        sub_intent=taxonomy.status,
    )
    for conversation in (a, b, c):
        reviewed(conversation, taxonomy.order, taxonomy.cancel, taxonomy, reviewer)
    return a, b, c, d


def test_a_later_source_wins(three, taxonomy, tmp_path):
    a, b, c, d = three
    out = import_labels(tmp_path, "conversation,intent,sub_intent\nconv-a,account_access,reset_2fa\n")
    assert "Imported 1 of 1 labels" in out
    labels = reference_labels(conversation_ids=[a.pk, b.pk, c.pk, d.pk])
    assert labels == {
        a.pk: ReferenceLabel("account_access", "reset_2fa", LabelSource.IMPORTED),
        b.pk: ReferenceLabel(
            "shipping_issue", "status", LabelSource.CONTACT_REASON
        ),  # value matched ignoring case
        c.pk: ReferenceLabel("order_issue", "manage_cancel", LabelSource.REVIEW),
    }


def test_unknown_intents_and_conversations_are_reported_by_line_and_not_imported(three, taxonomy, tmp_path):
    out = import_labels(
        tmp_path,
        "conversation,intent,sub_intent\n"
        "conv-a,account_access,\n"
        "conv-b,refunds_please,\n"
        "conv-zzz,account_access,\n"
        "conv-c,account_access,no_such_sub\n"
        "conv-d,,\n",
    )
    assert "Imported 1 of 5 labels" in out
    assert "line 3: unknown intent 'refunds_please'" in out
    assert "line 4: unknown conversation conv-zzz" in out
    assert "line 5: unknown sub-intent 'no_such_sub'" in out
    assert "line 6: empty conversation or intent" in out
    assert list(ImportedLabel.objects.values_list("conversation__kustomer_id", "intent__key")) == [
        ("conv-a", "account_access")
    ]


def test_a_later_import_relabels(three, taxonomy, tmp_path):
    import_labels(tmp_path, "conversation,intent\nconv-a,account_access\n")
    out = import_labels(
        tmp_path, "conversation,intent,sub_intent\nconv-a,shipping_issue,missing\n", "second.csv"
    )
    assert "0 new, 1 changed" in out
    label = ImportedLabel.objects.get()
    assert (label.intent, label.sub_intent, label.source) == (
        taxonomy.shipping,
        taxonomy.missing,
        "second.csv",
    )


def test_a_file_without_the_columns_is_refused(taxonomy, tmp_path):
    with pytest.raises(CommandError, match="missing: conversation"):
        import_labels(tmp_path, "id,intent\nx,y\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("backtest_labels_import", str(tmp_path / "nope.csv"))
