"""PII_RETENTION_DAYS: raw webhook bodies, prompt inputs and model answers are blanked when old; the derived
rows stay."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from bearscope.models import SweepRun
from bearscope.schedules import schedules_setup
from bearscope.tasks import pii_prune
from classification.models import Classification
from classification.tests.factories import ClassificationFactory
from intelligence.models import ConversationAnalysis
from intelligence.tests.factories import AnalysisFactory
from kustomer.models import WebhookEvent
from kustomer.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db

SECRET_TEXT = "My card is 4111 1111 1111 1111, email jo@example.com"


def _aged(model, pk: int, days: int, field: str = "created_at") -> None:
    model.objects.filter(pk=pk).update(**{field: timezone.now() - timedelta(days=days)})


def test_old_bodies_and_prompt_inputs_are_blanked_and_the_rows_kept(settings):
    settings.PII_RETENTION_DAYS = 90
    old_event = WebhookEventFactory(body=SECRET_TEXT, status=WebhookEvent.Status.PROCESSED)
    pending_event = WebhookEventFactory(body=SECRET_TEXT, status=WebhookEvent.Status.RECEIVED)
    new_event = WebhookEventFactory(body=SECRET_TEXT, status=WebhookEvent.Status.PROCESSED)
    for event in (old_event, pending_event):
        _aged(WebhookEvent, event.pk, 91, "received_at")
    old_classification = ClassificationFactory(prompt_input=SECRET_TEXT, raw_output=SECRET_TEXT)
    new_classification = ClassificationFactory(prompt_input=SECRET_TEXT, raw_output=SECRET_TEXT)
    _aged(Classification, old_classification.pk, 91)
    old_analysis = AnalysisFactory(prompt_input=SECRET_TEXT, raw_output=SECRET_TEXT)
    _aged(ConversationAnalysis, old_analysis.pk, 91)

    summary = pii_prune()

    for row in (old_event, pending_event, new_event, old_classification, new_classification, old_analysis):
        row.refresh_from_db()  # every row is still there
    assert old_event.body == ""
    assert pending_event.body == SECRET_TEXT  # not processed yet: it still needs its body
    assert new_event.body == SECRET_TEXT
    assert (old_classification.prompt_input, old_classification.raw_output) == ("", "")
    assert old_classification.intent_id is not None  # what was derived stays
    assert (new_classification.prompt_input, new_classification.raw_output) == (SECRET_TEXT, SECRET_TEXT)
    assert (old_analysis.prompt_input, old_analysis.raw_output) == ("", "")
    run = SweepRun.objects.get(sweeper="Personal data pruning")
    assert run.total == 5
    assert "webhook bodies 1" in summary
    assert "classification model answers 1" in summary

    assert pii_prune() == (
        "webhook bodies 0, classification prompt inputs 0, insights prompt inputs 0, "
        "classification model answers 0, insights model answers 0"
    )


def test_the_retention_follows_the_setting(settings):
    settings.PII_RETENTION_DAYS = 10
    event = WebhookEventFactory(body=SECRET_TEXT, status=WebhookEvent.Status.IGNORED)
    _aged(WebhookEvent, event.pk, 11, "received_at")
    pii_prune()
    event.refresh_from_db()
    assert event.body == ""


def test_the_pruning_is_scheduled_hourly():
    Schedule.objects.all().delete()
    schedules_setup()
    schedule = Schedule.objects.get(name="Personal data pruning")
    assert (schedule.func, schedule.schedule_type) == ("bearscope.tasks.pii_prune", Schedule.HOURLY)
