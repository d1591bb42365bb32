"""The backfill command: computed part without a key, then extraction through a Message Batch."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from bearscope.llm import Usage, cost_usd
from bearscope.testing.messages_server import reply_json
from classification.models import Classification, TriageReview
from intelligence.models import AgreementRollup, ConversationAnalysis, DailyRollup
from kustomer.models import Conversation
from kustomer.tests.factories import ConversationFactory, MessageFactory

from .test_services import VALID_ANSWER

pytestmark = pytest.mark.django_db
Extraction = ConversationAnalysis.Extraction


def resolved_history(count: int) -> list:
    conversations = []
    for n in range(count):
        start = timezone.now() - timedelta(days=3, hours=n)
        conversation = ConversationFactory(
            status="done",
            resolved_count=1,
            kustomer_created_at=start,
            kustomer_updated_at=start + timedelta(hours=2),
        )
        MessageFactory(conversation=conversation, sent_at=start, body=f"Order {n} has not arrived")
        MessageFactory(conversation=conversation, direction="out", sent_at=start + timedelta(minutes=30))
        conversations.append(conversation)
    return conversations


def backfill(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("intelligence_backfill", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_without_a_key_the_computed_part_runs_and_the_extraction_waits(settings):
    settings.ANTHROPIC_API_KEY = ""
    resolved_history(2)
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    out, err = backfill("--since", since)
    analyses = ConversationAnalysis.objects.all()
    assert [a.status for a in analyses] == ["done", "done"]
    assert {a.first_response_seconds for a in analyses} == {1800}
    assert {a.extraction_status for a in analyses} == {Extraction.WAITING_KEY}
    assert "2 extractions wait" in out
    assert "Computing " in err and "2/2" in err  # the progress bar
    assert DailyRollup.objects.filter(grain="segment").exists()


def test_batch_fills_in_waiting_extractions_and_flags_the_invalid_one(settings, messages_server):
    settings.ANTHROPIC_API_KEY = ""
    resolved_history(2)
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    backfill("--since", since)
    settings.ANTHROPIC_API_KEY = "test"
    messages_server.script(
        reply_json(VALID_ANSWER), reply_json({**VALID_ANSWER, "resolution_method": "magic"})
    )
    out, err = backfill("--since", since, "--batch", "--poll-seconds", "0")
    good, bad = ConversationAnalysis.objects.order_by("pk")
    assert good.extraction_status == Extraction.DONE and good.root_cause.key == "shipping_delay"
    assert good.batch_id.startswith("msgbatch_")
    assert bad.extraction_status == Extraction.INVALID and "magic" in bad.extraction_error
    assert [r["path"] for r in messages_server.requests if r["method"] == "POST"] == ["/v1/messages/batches"]
    assert "Extracted: 1, Invalid answer (flagged): 1" in out
    assert "Collecting" in err
    # Half price: the same tokens cost twice as much through POST /v1/messages.
    full = cost_usd(good.model_id, Usage(input_tokens=good.input_tokens, output_tokens=good.output_tokens))
    assert float(good.cost_usd) * 2 == pytest.approx(float(full), rel=0.01)


@pytest.mark.parametrize("mode", [[], ["--batch", "--batch-size", "1", "--poll-seconds", "0"]])
def test_with_a_key_history_is_computed_and_extracted_in_one_run(messages_server, mode):
    resolved_history(2)
    messages_server.script(reply_json(VALID_ANSWER), reply_json(VALID_ANSWER))
    out, _ = backfill("--since", (timezone.now() - timedelta(days=7)).date().isoformat(), *mode)
    assert {a.extraction_status for a in ConversationAnalysis.objects.all()} == {Extraction.DONE}
    batches = {a.batch_id for a in ConversationAnalysis.objects.all()}
    assert len(batches) == (2 if mode else 1)  # one batch per chunk of --batch-size; "" when direct
    assert "Extracted: 2" in out


def test_a_bad_date_is_a_clear_error():
    with pytest.raises(CommandError, match="--since must be a date like"):
        backfill("--since", "yesterday")


def test_synthesize_creates_a_consistent_history_and_its_rollups():
    out, err = StringIO(), StringIO()
    call_command("insights_synthesize", conversations=300, days=60, batch_size=128, stdout=out, stderr=err)
    assert "loaded the default e-commerce taxonomy" in out.getvalue()
    assert "300/300" in err.getvalue()  # the progress bar
    analyses = ConversationAnalysis.objects.all()
    assert analyses.count() == Conversation.objects.filter(kustomer_id__startswith="syn-1-").count() == 300
    assert analyses.filter(route="triage").count() == Classification.objects.count() > 0
    assert TriageReview.objects.exists()
    assert analyses.filter(extraction_status=Extraction.DONE).exclude(root_cause=None).exists()
    oldest = timezone.now() - timedelta(days=61)
    assert not analyses.filter(resolved_at__lt=oldest).exists()
    assert not TriageReview.objects.filter(created_at__gt=timezone.now()).exists()
    # Each reviewed classification carries its review's time; the rest wait in the backlog.
    reviewed = Classification.objects.filter(review__isnull=False).select_related("review")
    assert all(c.reviewed_at == c.review.created_at for c in reviewed)
    assert not Classification.objects.filter(review__isnull=True, reviewed_at__isnull=False).exists()
    assert AgreementRollup.objects.aggregate(n=Sum("reviewed"))["n"] == TriageReview.objects.count()
    segment = DailyRollup.objects.filter(grain="intent").aggregate(n=Sum("conversations"))["n"]
    assert segment == 300
    with pytest.raises(CommandError, match="must be positive"):
        call_command("insights_synthesize", conversations=0)
