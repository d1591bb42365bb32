"""Blind audits of automatic routes: sampling, the blind form, the quality report's drift warning, and
the queue without resolved conversations, in customer-wait and priority order."""

import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classification.forms import queue_filters_from
from classification.models import Classification, ClassifierSettings, TriageReview
from classification.selectors import QueueFilters, triage_counts, triage_queue
from classification.services.audit import audit_drift_check
from classification.services.routing import classification_route
from classification.services.triage import triage_review_save
from kustomer.tests.factories import ConversationFactory, MessageFactory

from .factories import ClassificationFactory, TriageReviewFactory

pytestmark = pytest.mark.django_db

QUALITY = reverse("classification:quality")
DRIFT_LOGGER = "classification.services.audit"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def routed(taxonomy, *, confidence: float, share: str) -> Classification:
    """A fresh classification routed with the given audit share."""
    ClassifierSettings.objects.filter(pk=ClassifierSettings.load().pk).update(audit_share=Decimal(share))
    classification = ClassificationFactory(
        intent=taxonomy.shipping,
        sub_intent=taxonomy.status,
        priority=taxonomy.normal,
        complexity=taxonomy.simple,
        confidence=confidence,
        route="",
        route_reason="",
        status=Classification.Status.PENDING,
    )
    classification_route(classification=classification, config=ClassifierSettings.load())
    classification.refresh_from_db()
    return classification


def audited(taxonomy, **kwargs) -> Classification:
    """An automatic route sampled for audit, waiting for its blind review."""
    kwargs.setdefault("intent", taxonomy.shipping)
    kwargs.setdefault("sub_intent", taxonomy.status)
    kwargs.setdefault("priority", taxonomy.high)
    kwargs.setdefault("complexity", taxonomy.moderate)
    kwargs.setdefault("confidence", 0.97)
    kwargs.setdefault("rationale", "Asks where the parcel is, with an order number.")
    return ClassificationFactory(
        route=Classification.Route.AUTO, route_reason="", route_threshold=Decimal("0.9"), audit=True, **kwargs
    )


class TestSampling:
    def test_at_100_percent_every_automatic_route_is_audited(self, taxonomy):
        results = [routed(taxonomy, confidence=0.96, share="1") for _ in range(20)]
        assert {(c.route, c.audit) for c in results} == {(Classification.Route.AUTO, True)}
        assert {c.route_threshold for c in results} == {Decimal("0.900")}
        queue = triage_queue(filters=QueueFilters(reason="audit"))
        assert sorted(c.pk for c in queue) == sorted(c.pk for c in results)
        assert {(row["reason"], row["label"], row["count"]) for row in triage_counts().by_reason} == {
            ("audit", "Audit", 20)
        }

    def test_at_0_percent_none_is_and_triage_is_never_an_audit(self, taxonomy):
        results = [routed(taxonomy, confidence=0.96, share="0") for _ in range(20)]
        low = routed(taxonomy, confidence=0.5, share="1")
        assert not any(c.audit for c in results)
        assert (low.route, low.route_reason, low.audit) == (
            Classification.Route.TRIAGE,
            "low_confidence",
            False,
        )
        assert list(triage_queue(filters=QueueFilters(reason="audit"))) == []
        assert list(triage_queue(filters=QueueFilters(reason="low_confidence"))) == [low]

    def test_a_share_in_between_samples_the_same_conversations_every_time(self, taxonomy):
        first = [routed(taxonomy, confidence=0.96, share="0.5") for _ in range(40)]
        again = []
        for c in first:
            classification_route(classification=c, config=ClassifierSettings.load())
            c.refresh_from_db()
            again.append(c.audit)
        assert [c.audit for c in first] == again
        assert 0 < sum(again) < 40

    def test_the_reason_filter_comes_from_the_query_string(self):
        assert queue_filters_from({"reason": "audit", "sort": "wait"}) == QueueFilters(
            reason="audit", sort="wait"
        )
        assert queue_filters_from({"reason": "nonsense", "sort": "nonsense"}) == QueueFilters()


class TestBlindReview:
    def test_the_ai_answer_is_absent_until_saved_then_shown(self, taxonomy, reviewer):
        item = audited(taxonomy)
        client = signed_in(reviewer)
        url = reverse("classification:item", args=[item.pk])
        html = client.get(url).content.decode()
        assert 'id="audit-note"' in html
        assert "Blind audit" in html
        for leak in ('id="ai-intent"', "Asks where the parcel is", "0.97", "AI proposal"):
            assert leak not in html
        # Nothing is pre-chosen: every select starts on its empty choice.
        assert re.findall(r'<option value="\d+"[^>]* selected>', html) == []
        assert '<option value="" selected>Choose an intent</option>' in html
        assert '<option value="" selected>Choose a priority</option>' in html

        queue_html = client.get(reverse("classification:queue")).content.decode()
        assert "Hidden until you review it (blind audit)" in queue_html
        assert "0.97" not in queue_html

        response = client.post(
            url,
            {
                "intent": taxonomy.shipping.pk,
                "sub_intent": taxonomy.missing.pk,
                "priority": taxonomy.high.pk,
                "complexity": taxonomy.simple.pk,
            },
            follow=True,
        )
        shown = response.content.decode()
        assert (
            "You disagreed with the AI, which routed it automatically as Shipping issue / Where is my order"
            in shown
        )
        assert "at confidence 0.97" in shown
        review = TriageReview.objects.get(classification=item)
        assert review.agreed is False and review.sub_intent == taxonomy.missing

    def test_an_ordinary_triage_item_still_shows_the_proposal_and_its_threshold(self, taxonomy, reviewer):
        item = ClassificationFactory(
            intent=taxonomy.shipping,
            confidence=0.72,
            route_threshold=Decimal("0.85"),
            priority=taxonomy.normal,
        )
        html = signed_in(reviewer).get(reverse("classification:item", args=[item.pk])).content.decode()
        assert 'id="ai-intent">Shipping issue<' in html
        assert "(auto-route threshold 0.85)" in html
        queue_html = signed_in(reviewer).get(reverse("classification:queue")).content.decode()
        assert '0.72 <span class="muted small">(0.85)</span>' in queue_html


class TestDrift:
    def reviews(self, taxonomy, agreed: int, corrected: int) -> None:
        for _ in range(agreed):
            TriageReviewFactory(classification=audited(taxonomy))
        for _ in range(corrected):
            TriageReviewFactory(classification=audited(taxonomy), intent=taxonomy.order, sub_intent=None)

    def test_below_the_floor_the_page_warns_and_one_error_is_logged(self, taxonomy, reviewer, caplog):
        ClassifierSettings.objects.filter(pk=ClassifierSettings.load().pk).update(
            audit_window=10, audit_agreement_floor=Decimal("0.85")
        )
        self.reviews(taxonomy, agreed=8, corrected=2)  # 80%
        TriageReviewFactory(classification=ClassificationFactory(intent=taxonomy.shipping))  # not an audit
        client = signed_in(reviewer)
        with caplog.at_level(logging.ERROR, logger=DRIFT_LOGGER):
            pages = [client.get(QUALITY).content.decode() for _ in range(3)]
        assert all('id="drift-warning"' in html for html in pages)
        assert "agreed with 8 of the last 10 blind audits (80%), below the floor of 85%" in pages[0]
        drift_lines = [r for r in caplog.records if r.name == DRIFT_LOGGER]
        assert len(drift_lines) == 1 and drift_lines[0].levelno == logging.ERROR
        assert "8 of the last 10" in drift_lines[0].getMessage()

        # Back above the floor: no warning, and the next drift is logged again.
        self.reviews(taxonomy, agreed=10, corrected=0)
        assert 'id="drift-warning"' not in client.get(QUALITY).content.decode()
        assert ClassifierSettings.load().audit_drift_logged_at is None
        self.reviews(taxonomy, agreed=0, corrected=3)
        with caplog.at_level(logging.ERROR, logger=DRIFT_LOGGER):
            client.get(QUALITY)
            client.get(QUALITY)
        assert len([r for r in caplog.records if r.name == DRIFT_LOGGER]) == 2

    def test_saving_the_audit_that_tips_it_logs_without_a_page_view(
        self, taxonomy, reviewer, caplog, django_capture_on_commit_callbacks
    ):
        ClassifierSettings.objects.filter(pk=ClassifierSettings.load().pk).update(audit_window=4)
        self.reviews(taxonomy, agreed=3, corrected=0)
        item = audited(taxonomy)
        with django_capture_on_commit_callbacks() as callbacks:
            triage_review_save(
                classification=item,
                reviewer=reviewer,
                intent=taxonomy.order,
                sub_intent=None,
                priority=taxonomy.normal,
                complexity=taxonomy.simple,
            )
        drift_checks = [callback for callback in callbacks if callback is audit_drift_check]
        assert len(drift_checks) == 1  # the write-back is queued beside it; Kustomer is not needed here
        with caplog.at_level(logging.ERROR, logger=DRIFT_LOGGER):
            drift_checks[0]()
        assert [r.getMessage()[:61] for r in caplog.records if r.name == DRIFT_LOGGER] == [
            "Audit agreement fell below the floor: reviewers agreed with 3"
        ]
        assert ClassifierSettings.load().audit_drift_logged_at is not None

    def test_no_warning_before_the_window_is_full(self, taxonomy, reviewer, caplog):
        self.reviews(taxonomy, agreed=1, corrected=4)  # 20%, but only 5 of the default 100
        with caplog.at_level(logging.ERROR, logger=DRIFT_LOGGER):
            html = signed_in(reviewer).get(QUALITY).content.decode()
        assert 'id="drift-warning"' not in html
        assert "(5 so far)" in html
        assert not [r for r in caplog.records if r.name == DRIFT_LOGGER]


class TestQueue:
    def test_resolved_conversations_leave_the_queue_and_come_back_when_reopened(self, taxonomy):
        item = ClassificationFactory(intent=taxonomy.shipping)
        other = ClassificationFactory(intent=taxonomy.shipping)
        audit_item = audited(taxonomy)
        for c in (item, audit_item):
            c.conversation.status = "done"
            c.conversation.save()
        assert list(triage_queue(filters=QueueFilters())) == [other]
        assert triage_counts().total == 1
        assert Classification.objects.filter(pk=item.pk).exists()  # kept in history
        item.conversation.status = "open"
        item.conversation.save()
        assert set(triage_queue(filters=QueueFilters())) == {item, other}

    def test_sorted_by_customer_wait_and_by_priority(self, taxonomy):
        now = timezone.now()

        def item(*, classified_hours: int, first_message_hours: int | None, priority):
            conversation = ConversationFactory(kustomer_created_at=now - timedelta(hours=30))
            if first_message_hours is not None:
                MessageFactory(conversation=conversation, direction="out", sent_at=now - timedelta(hours=50))
                MessageFactory(conversation=conversation, sent_at=now - timedelta(hours=first_message_hours))
                MessageFactory(conversation=conversation, sent_at=now - timedelta(hours=1))
            return ClassificationFactory(
                conversation=conversation,
                intent=taxonomy.shipping,
                priority=priority,
                classified_at=now - timedelta(hours=classified_hours),
            )

        classified_first = item(classified_hours=10, first_message_hours=11, priority=taxonomy.normal)
        waited_longest = item(classified_hours=2, first_message_hours=40, priority=taxonomy.normal)
        no_messages = item(classified_hours=3, first_message_hours=None, priority=taxonomy.high)  # since 30 h
        assert list(triage_queue(filters=QueueFilters())) == [classified_first, no_messages, waited_longest]
        assert list(triage_queue(filters=QueueFilters(sort="wait"))) == [
            waited_longest,
            no_messages,
            classified_first,
        ]
        assert list(triage_queue(filters=QueueFilters(sort="priority"))) == [
            no_messages,
            waited_longest,
            classified_first,
        ]
