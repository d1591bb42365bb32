"""The triage queue and quality report selectors, with exact figures on hand-built data."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from classification.models import Classification
from classification.quality import percentile, quality_report
from classification.selectors import (
    QueueFilters,
    triage_channels,
    triage_next,
    triage_queue,
    triage_unreviewed,
)
from classification.services.triage import triage_review_save
from kustomer.tests.factories import ConversationFactory

from .factories import ClassificationFactory, IntentFactory, TriageReviewFactory

pytestmark = pytest.mark.django_db


def reviewed(taxonomy, *, ai, ai_sub=None, to=None, to_sub=None, confidence=0.6, **kwargs):
    """A review of an AI proposal `ai`/`ai_sub`; the reviewer chose `to`/`to_sub` (default: agreed)."""
    classification = ClassificationFactory(
        intent=ai,
        sub_intent=ai_sub,
        confidence=confidence,
        priority=taxonomy.normal,
        complexity=taxonomy.simple,
    )
    chosen, chosen_sub = (ai, ai_sub) if to is None else (to, to_sub)
    return TriageReviewFactory(classification=classification, intent=chosen, sub_intent=chosen_sub, **kwargs)


@pytest.fixture
def reviews(taxonomy) -> None:
    t = taxonomy
    # Shipping issue: 4 reviews, 3 agreed, 1 corrected to Account access.
    reviewed(t, ai=t.shipping, ai_sub=t.status, confidence=0.95)
    reviewed(t, ai=t.shipping, ai_sub=t.status, confidence=1.0)
    reviewed(t, ai=t.shipping, confidence=0.5)
    reviewed(t, ai=t.shipping, to=t.account, to_sub=t.password, confidence=0.55)
    # Account access: 2 reviews, none agreed; one only changed the sub-intent (not an intent confusion).
    reviewed(t, ai=t.account, ai_sub=t.password, to=t.shipping, confidence=0.62)
    reviewed(t, ai=t.account, ai_sub=t.password, to=t.account, to_sub=t.two_fa, confidence=0.7)
    # Order issue: 3 reviews, 1 agreed, 2 corrected to Shipping issue.
    reviewed(t, ai=t.order, confidence=0.4999)
    reviewed(t, ai=t.order, to=t.shipping, confidence=0.0)
    reviewed(t, ai=t.order, to=t.shipping, confidence=0.89)
    # The classifier failed: no proposal, no confidence.
    reviewed(t, ai=None, to=t.order, confidence=None)


class TestQualityReport:
    def test_overall_and_per_intent_agreement(self, reviews):
        report = quality_report()
        assert (report.reviews, report.agreed, report.agreement_pct) == (10, 4, 40.0)
        assert report.by_intent == [
            {
                "key": "shipping_issue",
                "name": "Shipping issue",
                "reviews": 4,
                "agreed": 3,
                "agreement_pct": 75.0,
            },
            {"key": "order_issue", "name": "Order issue", "reviews": 3, "agreed": 1, "agreement_pct": 33.3},
            {
                "key": "account_access",
                "name": "Account access",
                "reviews": 2,
                "agreed": 0,
                "agreement_pct": 0.0,
            },
            {"key": "", "name": "No proposal (error)", "reviews": 1, "agreed": 0, "agreement_pct": 0.0},
        ]

    def test_confused_pairs(self, reviews):
        pairs = [(p["ai_key"], p["reviewer_key"], p["count"]) for p in quality_report().confused_pairs]
        assert pairs == [
            ("order_issue", "shipping_issue", 2),
            ("account_access", "shipping_issue", 1),
            ("shipping_issue", "account_access", 1),
        ]

    def test_confused_pairs_stop_at_ten(self, taxonomy):
        t = taxonomy
        intents = [t.shipping, t.account, t.order, IntentFactory(key="billing"), IntentFactory(key="returns")]
        for ai in intents:
            for chosen in intents:
                if ai != chosen:
                    reviewed(t, ai=ai, to=chosen)
        assert len(quality_report().confused_pairs) == 10

    def test_calibration_bands(self, reviews):
        rows = [
            (r["label"], r["reviews"], r["agreed"], r["accuracy_pct"]) for r in quality_report().calibration
        ]
        assert rows == [
            ("0 to 0.5", 2, 1, 50.0),  # 0.4999 agreed, 0.0 corrected
            ("0.5 to 0.6", 2, 1, 50.0),  # 0.5 agreed, 0.55 corrected
            ("0.6 to 0.7", 1, 0, 0.0),  # 0.62
            ("0.7 to 0.8", 1, 0, 0.0),  # 0.7: the sub-intent was changed
            ("0.8 to 0.9", 1, 0, 0.0),  # 0.89
            ("0.9 to 0.95", 0, 0, None),
            ("0.95 to 1", 2, 2, 100.0),  # 0.95 and 1.0 both count in the last band
        ]

    def test_calibration_intervals_and_ece(self, reviews):
        report = quality_report()
        intervals = [(r["ci_low_pct"], r["ci_high_pct"]) for r in report.calibration]
        assert intervals[5] == (None, None)  # an empty band says so
        assert intervals[6] == (34.2, 100.0)  # 2 of 2: Wilson's interval, not a certain 100%
        assert intervals[2] == (0.0, 79.3)  # 0 of 1
        # |accuracy - mean confidence| per band, weighted by its share of the 9 reviews.
        gaps = 2 * abs(0.5 - 0.24995) + 2 * abs(0.5 - 0.525) + 0.62 + 0.7 + 0.89 + 2 * abs(1 - 0.975)
        assert report.ece_pct == round(100 * gaps / 9, 1) == 31.2

    def test_cost_per_thousand_and_latency_percentiles(self, taxonomy):
        for i in range(1, 21):  # latencies 100..2000 ms; costs 0.0010..0.0029 USD
            ClassificationFactory(
                intent=taxonomy.shipping,
                latency_ms=100 * i,
                cost_usd=Decimal("0.0009") + Decimal("0.0001") * i,
            )
        ClassificationFactory(intent=taxonomy.shipping, latency_ms=None, cost_usd=Decimal("0.0040"))
        # Not counted: a superseded classification and one still pending.
        ClassificationFactory(
            intent=taxonomy.shipping, current=False, latency_ms=99999, cost_usd=Decimal("9")
        )
        ClassificationFactory(
            status=Classification.Status.PENDING, route="", latency_ms=99999, cost_usd=Decimal("9")
        )
        report = quality_report()
        assert report.classifications == 21
        # (0.0390 + 0.0040) / 21 * 1000
        assert report.cost_total_usd == Decimal("0.0430")
        assert report.cost_per_1000_usd == Decimal("2.0476")
        assert (report.latency_p50_ms, report.latency_p95_ms) == (1000, 1900)

    def test_an_empty_report_has_no_figures(self, db):
        report = quality_report()
        assert (report.reviews, report.agreement_pct, report.cost_per_1000_usd) == (0, None, None)
        assert (report.latency_p50_ms, report.latency_p95_ms) == (None, None)
        assert report.by_intent == [] and report.confused_pairs == []
        assert [r["reviews"] for r in report.calibration] == [0] * 7


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7], 50, 7),
        ([7], 95, 7),
        ([4, 1, 3, 2], 50, 2),
        ([4, 1, 3, 2], 95, 4),
        (list(range(1, 101)), 95, 95),
        (list(range(1, 101)), 50, 50),
    ],
)
def test_percentile_is_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


class TestQueue:
    def test_the_channel_filter_gives_the_same_answer_on_every_database(self, taxonomy, monkeypatch):
        email = ClassificationFactory(
            intent=taxonomy.shipping, conversation=ConversationFactory(channels=["email"])
        )
        ClassificationFactory(intent=taxonomy.shipping, conversation=ConversationFactory(channels=["chat"]))
        ClassificationFactory(intent=taxonomy.shipping, conversation=ConversationFactory(channels=[]))
        filters = QueueFilters(channel="email")
        native = list(triage_queue(filters=filters))
        # The other branch: Python over the values, as on SQLite.
        monkeypatch.setattr(connection.features, "supports_json_field_contains", False)
        assert native == list(triage_queue(filters=filters)) == [email]
        assert triage_channels() == ["chat", "email"]

    def test_next_is_the_oldest_free_match(self, taxonomy, reviewer, second_reviewer):
        now = timezone.now()
        theirs = ClassificationFactory(
            intent=taxonomy.account,
            classified_at=now - timedelta(hours=3),
            claimed_by=second_reviewer,
            claimed_until=now + timedelta(minutes=2),
        )
        mine = ClassificationFactory(
            intent=taxonomy.account,
            classified_at=now - timedelta(hours=2),
            claimed_by=reviewer,
            claimed_until=now + timedelta(minutes=2),
        )
        ClassificationFactory(intent=taxonomy.shipping, classified_at=now - timedelta(hours=4))
        assert triage_next(filters=QueueFilters(intent="account_access"), user=reviewer) == mine
        assert triage_next(filters=QueueFilters(intent="account_access"), user=second_reviewer) == theirs
        assert triage_next(filters=QueueFilters(intent="order_issue"), user=reviewer) is None


class TestUnreviewed:
    """The dashboards' triage backlog, read from the classification row instead of its reviews."""

    def anti_join(self) -> set[int]:
        """What the backlog was before `reviewed_at`: the triage classifications without a review."""
        return set(
            Classification.objects.filter(
                route=Classification.Route.TRIAGE,
                status=Classification.Status.DONE,
                current=True,
                review__isnull=True,
            ).values_list("pk", flat=True)
        )

    def test_a_triage_item_counts_until_a_review_is_saved(self, taxonomy, reviewer):
        item = ClassificationFactory(intent=taxonomy.shipping, priority=taxonomy.normal)
        ClassificationFactory(route=Classification.Route.AUTO, route_reason="")  # never waits
        ClassificationFactory(current=False)  # classified again since
        ClassificationFactory(status=Classification.Status.PENDING)  # not classified yet
        assert list(triage_unreviewed()) == [item]
        assert self.anti_join() == {item.pk}
        review = triage_review_save(
            classification=item,
            reviewer=reviewer,
            intent=taxonomy.order,
            sub_intent=None,
            priority=taxonomy.normal,
            complexity=taxonomy.simple,
        )
        item.refresh_from_db()
        assert item.reviewed_at == review.created_at
        assert not triage_unreviewed().exists()
        assert self.anti_join() == set()

    def test_a_reviewed_conversation_classified_again_waits_again(self, taxonomy):
        conversation = ConversationFactory()
        first = ClassificationFactory(conversation=conversation, intent=taxonomy.shipping)
        TriageReviewFactory(classification=first)
        assert not triage_unreviewed().exists()
        Classification.objects.filter(pk=first.pk).update(current=False)
        again = ClassificationFactory(conversation=conversation, intent=taxonomy.account)
        assert list(triage_unreviewed()) == [again]
        assert self.anti_join() == {again.pk}

    def test_the_same_items_as_the_anti_join_on_mixed_data(self, taxonomy, reviews):
        now = timezone.now()
        for minutes in (5, 50, 500):
            ClassificationFactory(intent=taxonomy.order, classified_at=now - timedelta(minutes=minutes))
        assert set(triage_unreviewed().values_list("pk", flat=True)) == self.anti_join()
        assert triage_unreviewed().count() == 3
