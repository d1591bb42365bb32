"""The triage pages through the Django test client: access, queue, claims, reviews, write-back."""

import re
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bearscope.testing.factories import UserFactory
from classification import views
from classification.models import Classification, ClassifierSettings, TriageReview
from classification.services.triage import CLAIM_MINUTES, triage_claim
from kustomer.tests.factories import ConversationFactory, MessageFactory
from kustomer.tests.sandbox_fixtures import CONVERSATION_ID

from .factories import ClassificationFactory, TriageReviewFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("classification:queue")
QUALITY = reverse("classification:quality")


def item_url(classification: Classification, query: str = "") -> str:
    url = reverse("classification:item", args=[classification.pk])
    return f"{url}?{query}" if query else url


def waiting(taxonomy, minutes_ago: int, **kwargs) -> Classification:
    """A classification waiting in triage since `minutes_ago`."""
    kwargs.setdefault("intent", taxonomy.shipping)
    kwargs.setdefault("priority", taxonomy.normal)
    kwargs.setdefault("complexity", taxonomy.simple)
    return ClassificationFactory(classified_at=timezone.now() - timedelta(minutes=minutes_ago), **kwargs)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def review_data(taxonomy, **changes) -> dict:
    data = {
        "intent": taxonomy.shipping.pk,
        "sub_intent": taxonomy.status.pk,
        "priority": taxonomy.normal.pk,
        "complexity": taxonomy.simple.pk,
        "note": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


class TestAccess:
    def test_anonymous_users_are_sent_to_the_login_page(self, taxonomy, client):
        item = waiting(taxonomy, 5)
        for url in (QUEUE, item_url(item), QUALITY):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"] == f"{reverse('login')}?next={url}"

    def test_users_without_the_permission_get_a_readable_403(self, taxonomy, outsider):
        item = waiting(taxonomy, 5)
        client = signed_in(outsider)
        for url in (QUEUE, item_url(item), QUALITY):
            response = client.get(url)
            assert response.status_code == 403
            assert b"You do not have access to triage" in response.content
            assert b"Triage reviewers" in response.content
        # Opening it did not claim it for the outsider.
        item.refresh_from_db()
        assert item.claimed_by is None
        assert client.post(item_url(item), review_data(taxonomy)).status_code == 403
        assert not TriageReview.objects.exists()

    def test_reviewers_and_superusers_get_in(self, taxonomy, reviewer):
        item = waiting(taxonomy, 5)
        superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
        for user in (reviewer, superuser):
            client = signed_in(user)
            assert client.get(QUEUE).status_code == 200
            assert client.get(QUALITY).status_code == 200
            Classification.objects.filter(pk=item.pk).update(claimed_by=None, claimed_until=None)
            assert client.get(item_url(item)).status_code == 200

    def test_login_page_signs_a_reviewer_in_and_back_to_the_queue(self, reviewer, client):
        page = client.get(reverse("login"), {"next": QUEUE})
        assert page.status_code == 200
        assert b'name="csrfmiddlewaretoken"' in page.content
        assert b'<label for="id_username">Username</label>' in page.content
        response = client.post(
            reverse("login"), {"username": "maya", "password": "correct-horse-battery", "next": QUEUE}
        )
        assert response.status_code == 302 and response["Location"] == QUEUE
        assert client.get(QUEUE).status_code == 200

    def test_the_navigation_has_the_pages_and_a_post_logout(self, taxonomy, reviewer):
        client = signed_in(reviewer)
        html = client.get(QUEUE).content.decode()
        assert f'href="{QUEUE}" aria-current="page">Triage</a>' in html
        assert f'href="{QUALITY}">Quality report</a>' in html
        assert "Admin</a>" not in html  # not staff
        assert "Maya Patel" in html
        assert re.search(
            r'<form method="post" action="/accounts/logout/"[^>]*>\s*<input type="hidden" name="csrf', html
        )
        assert client.post(reverse("logout")).status_code == 302
        assert client.get(QUEUE).status_code == 302

    def test_staff_see_the_admin_link(self, taxonomy, reviewer):
        reviewer.is_staff = True
        reviewer.save()
        assert 'href="/admin/">Admin</a>' in signed_in(reviewer).get(QUEUE).content.decode()

    def test_csrf_is_required_on_the_review_form(self, taxonomy, reviewer):
        item = waiting(taxonomy, 5)
        client = Client(enforce_csrf_checks=True)
        client.force_login(reviewer)
        page = client.get(item_url(item))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        assert client.post(item_url(item), review_data(taxonomy)).status_code == 403
        assert not TriageReview.objects.exists()
        response = client.post(item_url(item), {**review_data(taxonomy), "csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert TriageReview.objects.filter(classification=item).exists()


class TestQueue:
    def test_only_current_done_unreviewed_triage_items_oldest_first(self, taxonomy, reviewer):
        newest = waiting(taxonomy, 1)
        oldest = waiting(taxonomy, 90)
        middle = waiting(taxonomy, 30)
        waiting(taxonomy, 60, route=Classification.Route.AUTO, route_reason="")
        waiting(taxonomy, 60, current=False)
        waiting(taxonomy, 60, status=Classification.Status.PENDING)
        TriageReviewFactory(classification=waiting(taxonomy, 120))
        response = signed_in(reviewer).get(QUEUE)
        assert [c.pk for c in response.context["items"]] == [oldest.pk, middle.pk, newest.pk]
        assert response.context["counts"].total == 3
        html = response.content.decode()
        assert html.index(f'data-item="{oldest.pk}"') < html.index(f'data-item="{newest.pk}"')
        assert '<strong class="big-number" id="total-waiting">3</strong>' in html

    def test_rows_show_age_proposal_confidence_reason_and_holder(self, taxonomy, reviewer, second_reviewer):
        held = waiting(
            taxonomy,
            90,
            sub_intent=taxonomy.status,
            confidence=0.62,
            claimed_by=second_reviewer,
            claimed_until=timezone.now() + timedelta(minutes=3),
        )
        waiting(taxonomy, 10, intent=None, confidence=None, route_reason="invalid_output")
        html = signed_in(reviewer).get(QUEUE).content.decode()
        row = html[html.index(f'data-item="{held.pk}"') :]
        row = row[: row.index("</tr>")]
        assert "1\xa0hour, 30\xa0minutes" in row
        assert "Shipping issue" in row and "Where is my order" in row
        assert ">0.62<" in row
        assert "Low confidence" in row
        assert "Daniel Okafor" in row and f"until {timezone.localtime(held.claimed_until):%H:%M}" in row
        assert "Answer outside the taxonomy" in html and "No proposal" in html

    def test_filter_by_intent(self, taxonomy, reviewer):
        shipping = waiting(taxonomy, 20)
        account = waiting(taxonomy, 30, intent=taxonomy.account)
        client = signed_in(reviewer)
        assert [c.pk for c in client.get(QUEUE, {"intent": "account_access"}).context["items"]] == [
            account.pk
        ]
        assert [c.pk for c in client.get(QUEUE, {"intent": "shipping_issue"}).context["items"]] == [
            shipping.pk
        ]
        # An unknown filter value shows nothing rather than everything.
        assert list(client.get(QUEUE, {"intent": "teleportation"}).context["items"]) == []

    @pytest.mark.parametrize(
        ("band", "expected"),
        [
            ("lt50", [0.0, 0.49]),
            ("50-70", [0.5, 0.69]),
            ("70-90", [0.7, 0.89]),
            ("gte90", [0.9, 1.0]),
            ("none", [None]),
            ("", [0.0, 0.49, 0.5, 0.69, 0.7, 0.89, 0.9, 1.0, None]),
            ("bogus", [0.0, 0.49, 0.5, 0.69, 0.7, 0.89, 0.9, 1.0, None]),
        ],
    )
    def test_filter_by_confidence_band(self, taxonomy, reviewer, band, expected):
        for minutes, confidence in enumerate([0.0, 0.49, 0.5, 0.69, 0.7, 0.89, 0.9, 1.0, None]):
            waiting(taxonomy, 100 - minutes, confidence=confidence)
        items = signed_in(reviewer).get(QUEUE, {"band": band}).context["items"]
        assert [c.confidence for c in items] == expected

    def test_filter_by_channel(self, taxonomy, reviewer):
        email = waiting(taxonomy, 30, conversation=ConversationFactory(channels=["email"]))
        both = waiting(taxonomy, 20, conversation=ConversationFactory(channels=["chat", "email"]))
        waiting(taxonomy, 10, conversation=ConversationFactory(channels=["sms"]))
        response = signed_in(reviewer).get(QUEUE, {"channel": "email"})
        assert [c.pk for c in response.context["items"]] == [email.pk, both.pk]
        html = response.content.decode()
        # The channel select offers every waiting channel, the chosen one selected.
        assert '<option value="email" selected>Email</option>' in html
        assert '<option value="sms">Sms</option>' in html and '<option value="chat">Chat</option>' in html

    def test_filters_combine_and_are_kept_in_the_item_links(self, taxonomy, reviewer):
        match = waiting(taxonomy, 30, intent=taxonomy.account, confidence=0.3)
        waiting(taxonomy, 40, intent=taxonomy.account, confidence=0.8)
        waiting(taxonomy, 50, confidence=0.3)
        response = signed_in(reviewer).get(QUEUE, {"intent": "account_access", "band": "lt50"})
        assert [c.pk for c in response.context["items"]] == [match.pk]
        assert f'href="{item_url(match, "intent=account_access&amp;band=lt50")}"' in response.content.decode()
        assert "1 conversation matches these filters." in response.content.decode()

    def test_counts_per_intent_and_reason_cover_the_whole_queue(self, taxonomy, reviewer):
        for _ in range(3):
            waiting(taxonomy, 10)
        waiting(taxonomy, 10, intent=taxonomy.account)
        waiting(taxonomy, 10, intent=taxonomy.account, route_reason="truncated_output", confidence=None)
        waiting(taxonomy, 10, intent=None, confidence=None, route_reason="classifier_error")
        TriageReviewFactory(classification=waiting(taxonomy, 10))  # reviewed: not counted
        response = signed_in(reviewer).get(QUEUE, {"intent": "order_issue"})
        counts = response.context["counts"]
        assert counts.total == 6
        assert [(row["key"], row["count"]) for row in counts.by_intent] == [
            ("shipping_issue", 3),
            ("account_access", 2),
            ("", 1),
        ]
        assert [(row["reason"], row["label"], row["count"]) for row in counts.by_reason] == [
            ("low_confidence", "Low confidence", 4),
            ("classifier_error", "Classifier error", 1),
            ("truncated_output", "Answer cut off", 1),
        ]
        html = response.content.decode()
        assert '<span class="count" data-key="shipping_issue">3</span>' in html
        assert '<span class="count" data-reason="classifier_error">1</span>' in html
        assert "No conversations match these filters." in html

    def test_an_empty_queue_says_so(self, taxonomy, reviewer):
        html = signed_in(reviewer).get(QUEUE).content.decode()
        assert "The queue is empty." in html
        assert 'id="total-waiting">0<' in html


class TestItemPage:
    def test_shows_transcript_proposal_reason_and_a_prefilled_form(self, taxonomy, reviewer):
        conversation = ConversationFactory(name="Parcel stuck", channels=["email"])
        now = timezone.now()
        # Created out of order: the page orders by when they were sent.
        MessageFactory(conversation=conversation, body="Any news?", sent_at=now - timedelta(minutes=5))
        MessageFactory(
            conversation=conversation,
            direction="out",
            body="Let me check that for you.",
            sent_at=now - timedelta(minutes=20),
        )
        MessageFactory(
            conversation=conversation, body="Where is BS-100234?", sent_at=now - timedelta(minutes=30)
        )
        item = waiting(
            taxonomy,
            30,
            conversation=conversation,
            sub_intent=taxonomy.missing,
            priority=taxonomy.high,
            confidence=0.64,
            rationale="Tracking has not moved; the customer fears it is lost.",
        )
        response = signed_in(reviewer).get(item_url(item))
        html = response.content.decode()
        assert response.status_code == 200
        bodies = [
            html.index(text) for text in ("Where is BS-100234?", "Let me check that for you.", "Any news?")
        ]
        assert bodies == sorted(bodies)
        assert html.count('class="msg msg-in"') == 2 and html.count('class="msg msg-out"') == 1
        assert html.count('<span class="msg-who">Customer</span>') == 2
        assert '<span class="msg-who">Team reply</span>' in html
        assert "Tracking has not moved; the customer fears it is lost." in html
        assert "0.64" in html and "Low confidence" in html
        assert 'name="csrfmiddlewaretoken"' in html
        form = response.context["form"]
        assert form.initial == {
            "intent": taxonomy.shipping.pk,
            "sub_intent": taxonomy.missing.pk,
            "priority": taxonomy.high.pk,
            "complexity": taxonomy.simple.pk,
        }
        assert f'<option value="{taxonomy.missing.pk}" selected data-intent="{taxonomy.shipping.pk}">' in html
        assert '<optgroup label="Account access">' in html
        assert f'<option value="{taxonomy.shipping.pk}" selected>Shipping issue</option>' in html
        for name in ("intent", "sub_intent", "priority", "complexity", "note"):
            assert re.search(rf'<label for="id_{name}">[A-Z][-a-z ]+</label>', html)
        assert 'accesskey="s"' in html and 'href="#review-form"' in html

    def test_opening_claims_it_and_a_second_reviewer_is_told_who_has_it(
        self, taxonomy, reviewer, second_reviewer
    ):
        item = waiting(taxonomy, 10)
        assert signed_in(reviewer).get(item_url(item)).status_code == 200
        item.refresh_from_db()
        assert item.claimed_by == reviewer
        left = item.claimed_until - timezone.now()
        assert timedelta(minutes=CLAIM_MINUTES - 1) < left <= timedelta(minutes=CLAIM_MINUTES)
        response = signed_in(second_reviewer).get(item_url(item, "intent=shipping_issue"))
        html = response.content.decode()
        until = timezone.localtime(item.claimed_until).strftime("%H:%M")
        assert f"Maya Patel is reviewing this until {until}." in html
        assert 'id="review-form"' not in html and "<select" not in html
        assert f'href="{QUEUE}?intent=shipping_issue"' in html
        # Nor can the second reviewer save over the claim.
        post = signed_in(second_reviewer).post(item_url(item), review_data(taxonomy))
        assert "is reviewing this until" in post.content.decode()
        assert not TriageReview.objects.exists()
        item.refresh_from_db()
        assert item.claimed_by == reviewer

    def test_an_expired_claim_can_be_taken(self, taxonomy, reviewer, second_reviewer):
        item = waiting(taxonomy, 10, claimed_by=reviewer, claimed_until=timezone.now() - timedelta(seconds=1))
        response = signed_in(second_reviewer).get(item_url(item))
        assert 'id="review-form"' in response.content.decode()
        item.refresh_from_db()
        assert item.claimed_by == second_reviewer

    def test_unknown_and_auto_routed_conversations_are_not_found(self, taxonomy, reviewer):
        auto = waiting(taxonomy, 10, route=Classification.Route.AUTO, route_reason="")
        client = signed_in(reviewer)
        assert client.get(item_url(auto)).status_code == 404
        assert client.get(reverse("classification:item", args=[999999])).status_code == 404

    def test_a_reviewed_item_sends_the_reviewer_on(self, taxonomy, reviewer):
        done = TriageReviewFactory(classification=waiting(taxonomy, 20), reviewer=reviewer).classification
        following = waiting(taxonomy, 10)
        response = signed_in(reviewer).get(item_url(done), follow=True)
        assert response.redirect_chain[-1][0] == item_url(following)
        assert "This conversation was already reviewed by Maya Patel." in response.content.decode()


class TestSaving:
    def test_a_correction_is_recorded_and_opens_the_next_item(self, taxonomy, reviewer):
        first = waiting(taxonomy, 30, sub_intent=taxonomy.status, confidence=0.55)
        second = waiting(taxonomy, 20)
        client = signed_in(reviewer)
        client.get(item_url(first))
        response = client.post(
            item_url(first),
            review_data(
                taxonomy,
                intent=taxonomy.account.pk,
                sub_intent=taxonomy.password.pk,
                priority=taxonomy.high.pk,
                complexity=taxonomy.moderate.pk,
                note="Asks for a reset link, not a parcel.",
            ),
        )
        assert response.status_code == 302 and response["Location"] == item_url(second)
        review = TriageReview.objects.get(classification=first)
        assert (review.intent, review.sub_intent) == (taxonomy.account, taxonomy.password)
        assert (review.priority, review.complexity) == (taxonomy.high, taxonomy.moderate)
        assert review.reviewer == reviewer and review.agreed is False
        assert review.note == "Asks for a reset link, not a parcel."
        first.refresh_from_db()
        assert first.claimed_by is None
        follow = client.get(response["Location"])
        assert "corrected as Account access / Recover password" in follow.content.decode()

    def test_confirming_records_agreement_and_an_empty_queue_says_so(self, taxonomy, reviewer):
        item = waiting(taxonomy, 30, sub_intent=taxonomy.status)
        response = signed_in(reviewer).post(item_url(item), review_data(taxonomy), follow=True)
        assert TriageReview.objects.get(classification=item).agreed is True
        assert response.redirect_chain == [(QUEUE, 302)]
        assert "The queue is empty." in response.content.decode()

    def test_the_next_item_keeps_the_filters(self, taxonomy, reviewer):
        first = waiting(taxonomy, 40, intent=taxonomy.account)
        waiting(taxonomy, 30)  # older than `second` but filtered out
        second = waiting(taxonomy, 20, intent=taxonomy.account)
        client = signed_in(reviewer)
        response = client.post(
            item_url(first, "intent=account_access"),
            review_data(taxonomy, intent=taxonomy.account.pk, sub_intent=""),
        )
        assert response["Location"] == item_url(second, "intent=account_access")
        response = client.post(
            item_url(second, "intent=account_access"),
            review_data(taxonomy, intent=taxonomy.account.pk, sub_intent=""),
            follow=True,
        )
        assert response.redirect_chain == [(f"{QUEUE}?intent=account_access", 302)]
        assert "No more conversations match these filters." in response.content.decode()

    def test_the_next_item_skips_conversations_someone_else_is_reviewing(
        self, taxonomy, reviewer, second_reviewer
    ):
        first = waiting(taxonomy, 40)
        waiting(taxonomy, 30, claimed_by=second_reviewer, claimed_until=timezone.now() + timedelta(minutes=4))
        free = waiting(taxonomy, 20)
        response = signed_in(reviewer).post(item_url(first), review_data(taxonomy))
        assert response["Location"] == item_url(free)

    def test_a_sub_intent_of_another_intent_is_rejected(self, taxonomy, reviewer):
        item = waiting(taxonomy, 10)
        response = signed_in(reviewer).post(
            item_url(item),
            review_data(taxonomy, intent=taxonomy.shipping.pk, sub_intent=taxonomy.password.pk),
        )
        assert response.status_code == 200
        assert response.context["form"].errors["sub_intent"] == [
            "“Recover password” is not a sub-intent of “Shipping issue”. Choose one of its own."
        ]
        assert "is not a sub-intent of" in response.content.decode()
        assert not TriageReview.objects.exists()

    def test_a_sub_intent_is_required_to_be_a_sub_intent(self, taxonomy, reviewer):
        item = waiting(taxonomy, 10)
        response = signed_in(reviewer).post(item_url(item), review_data(taxonomy, intent=taxonomy.status.pk))
        assert "intent" in response.context["form"].errors
        assert not TriageReview.objects.exists()

    def test_a_double_submit_keeps_one_review_and_says_so(self, taxonomy, reviewer):
        item = waiting(taxonomy, 10)
        client = signed_in(reviewer)
        first = client.post(item_url(item), review_data(taxonomy, intent=taxonomy.order.pk, sub_intent=""))
        second = client.post(item_url(item), review_data(taxonomy), follow=True)
        assert first.status_code == 302
        assert TriageReview.objects.filter(classification=item).count() == 1
        assert TriageReview.objects.get(classification=item).intent == taxonomy.order
        assert second.status_code == 200
        assert "This conversation was already reviewed by Maya Patel. Nothing was changed" in (
            second.content.decode()
        )

    def test_a_submit_racing_past_the_check_keeps_the_first_review(self, taxonomy, reviewer, monkeypatch):
        item = waiting(taxonomy, 10)

        def claim_then_lose_the_race(*, classification, user) -> bool:
            # The other submit saves between this request's check and its own save.
            TriageReviewFactory(classification=classification, reviewer=reviewer, intent=taxonomy.order)
            return triage_claim(classification=classification, user=user)

        monkeypatch.setattr(views, "triage_claim", claim_then_lose_the_race)
        response = signed_in(reviewer).post(item_url(item), review_data(taxonomy), follow=True)
        assert response.status_code == 200
        assert TriageReview.objects.get(classification=item).intent == taxonomy.order
        assert "already reviewed by Maya Patel" in response.content.decode()

    def test_a_conversation_without_a_proposal_can_be_reviewed(self, taxonomy, reviewer):
        item = waiting(taxonomy, 10, intent=None, confidence=None, route_reason="classifier_error")
        html = signed_in(reviewer).get(item_url(item)).content.decode()
        assert '<option value="" selected>Choose an intent</option>' in html
        assert "Classifier error" in html
        signed_in(reviewer).post(item_url(item), review_data(taxonomy))
        assert TriageReview.objects.get(classification=item).agreed is False

    def test_the_reviewed_values_are_written_back_to_kustomer(
        self, taxonomy, reviewer, kustomer_sandbox, django_capture_on_commit_callbacks
    ):
        ClassifierSettings.load()
        conversation = ConversationFactory(kustomer_id=CONVERSATION_ID)
        item = waiting(taxonomy, 10, conversation=conversation, sub_intent=taxonomy.status, confidence=0.7)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            signed_in(reviewer).post(
                item_url(item),
                review_data(
                    taxonomy,
                    intent=taxonomy.account.pk,
                    sub_intent=taxonomy.two_fa.pk,
                    priority=taxonomy.high.pk,
                ),
            )
        assert len(callbacks) == 2  # the write-back, and the auto-reply decision on the reviewed values
        state = requests.get(
            kustomer_sandbox.url(f"/_sandbox/state/conversations/{CONVERSATION_ID}"), timeout=5
        ).json()
        attributes = state["conversation"]["attributes"]
        assert attributes["custom"]["aiIntentStr"] == "account_access"
        assert attributes["custom"]["aiSubIntentStr"] == "reset_2fa"
        assert attributes["custom"]["aiPriorityStr"] == "high"
        assert attributes["custom"]["aiReviewedBool"] is True
        assert attributes["custom"]["aiRouteStr"] == "triage"
        assert attributes["priority"] == 4
        item.refresh_from_db()
        assert item.writeback_status == Classification.WriteBack.DONE


class TestQualityPage:
    def test_shows_the_report_figures(self, taxonomy, reviewer):
        agreed = waiting(taxonomy, 10, confidence=0.92, latency_ms=400)
        corrected = waiting(taxonomy, 10, confidence=0.55, latency_ms=600)
        TriageReviewFactory(classification=agreed)
        TriageReviewFactory(classification=corrected, intent=taxonomy.order)
        html = signed_in(reviewer).get(QUALITY).content.decode()
        assert '<dd id="stat-reviews">2</dd>' in html
        assert '<dd id="stat-agreement">50.0%</dd>' in html
        assert '<dd id="stat-cost">$1.00</dd>' in html  # 0.001 USD each
        assert '<dd id="stat-latency">400 ms / 600 ms</dd>' in html
        assert "<td>Shipping issue</td><td>Order issue</td>" in html
        cells = r'</th><td class="num">1</td><td class="num">0</td><td class="num">'
        assert re.search(r"0\.9 to 0\.95" + cells + r"100\.0%", html)
        assert re.search(r"0\.5 to 0\.6" + cells + r"0\.0%", html)
