"""The triage queue as a lead uses it, in a real headless Chromium: sorted by customer wait, and the
review form's keyboard (arrow keys through intents keep the sub-intent; Alt+S saves once)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from classification.models import ClassifierSettings, TriageReview
from kustomer.tests.factories import ConversationFactory, MessageFactory

from .factories import ClassificationFactory
from .test_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def waiting_since(taxonomy, name: str, *, customer_wrote_hours: int, classified_hours: int):
    now = timezone.now()
    conversation = ConversationFactory(name=name)
    MessageFactory(conversation=conversation, sent_at=now - timedelta(hours=customer_wrote_hours))
    return ClassificationFactory(
        conversation=conversation,
        intent=taxonomy.shipping,
        priority=taxonomy.normal,
        complexity=taxonomy.simple,
        classified_at=now - timedelta(hours=classified_hours),
    )


def test_the_queue_sorts_by_how_long_the_customer_has_waited(page, live_server, taxonomy, reviewer):
    ClassifierSettings.load()
    waiting_since(taxonomy, "Classified first", customer_wrote_hours=5, classified_hours=4)
    waiting_since(taxonomy, "Waited two days", customer_wrote_hours=48, classified_hours=1)
    waiting_since(taxonomy, "Waited a day", customer_wrote_hours=24, classified_hours=2)
    resolved = waiting_since(taxonomy, "Resolved meanwhile", customer_wrote_hours=72, classified_hours=3)
    resolved.conversation.status = "done"
    resolved.conversation.save()

    log_in(page, live_server, "maya", reverse("classification:queue"))
    names = page.locator("tbody tr .item-link")
    assert names.all_inner_texts() == ["Classified first", "Waited a day", "Waited two days"]

    page.get_by_label("Sort").select_option(label="Longest customer wait first")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"sort=wait"))
    assert names.all_inner_texts() == ["Waited two days", "Waited a day", "Classified first"]
    assert page.locator('tbody tr [data-cell="wait"]').first.inner_text() == "2\xa0days"
    # The order follows the reviewer into the item and to the next one.
    names.first.click()
    page.wait_for_url(re.compile(r"/triage/\d+/\?sort=wait"))


def test_arrow_keys_through_intents_keep_the_sub_intent_and_alt_s_saves_once(
    page, live_server, taxonomy, reviewer
):
    ClassifierSettings.load()
    item = ClassificationFactory(
        intent=taxonomy.shipping,
        sub_intent=taxonomy.status,
        priority=taxonomy.normal,
        complexity=taxonomy.simple,
    )
    log_in(page, live_server, "maya", reverse("classification:item", args=[item.pk]))
    intent = page.get_by_label("Intent", exact=True)
    sub = page.get_by_label("Sub-intent")
    assert (intent.locator("option:checked").inner_text(), sub.locator("option:checked").inner_text()) == (
        "Shipping issue",
        "Where is my order",
    )

    intent.focus()
    page.keyboard.press("ArrowDown")
    assert intent.locator("option:checked").inner_text() == "Account access"
    assert sub.input_value() == ""  # Account access has no sub-intent chosen yet
    page.keyboard.press("ArrowUp")
    assert intent.locator("option:checked").inner_text() == "Shipping issue"
    assert sub.locator("option:checked").inner_text() == "Where is my order"

    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.keyboard.press("Alt+s")
    page.wait_for_url(re.compile(r"/triage/$"))
    assert "confirmed as Shipping issue / Where is my order" in page.locator(".messages").inner_text()
    review = TriageReview.objects.get(classification=item)
    assert (review.intent, review.sub_intent, review.agreed) == (taxonomy.shipping, taxonomy.status, True)
    assert len(posts) == 1
    assert page.locator("#total-waiting").inner_text() == "0"
