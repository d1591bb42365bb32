"""Insights by the customer's language and sentiment: the sentiment panels, the language filter."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from classification.tests.factories import ClassificationFactory, IntentFactory
from intelligence.rollups import rollup_refresh_all

from .factories import AnalysisFactory, ops_leader

pytestmark = pytest.mark.django_db
OVERVIEW = reverse("intelligence:overview")
CONVERSATIONS = reverse("intelligence:conversations")


@pytest.fixture
def leader_client(client):
    client.force_login(ops_leader())
    return client


@pytest.fixture
def resolved():
    """Shipping issues in Spanish (upset), English (calm) and English (pleased); an account question in
    French (upset); one shipping issue never classified. All resolved yesterday."""
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue")
    account = IntentFactory(key="account_access", name="Account access")
    yesterday = timezone.now() - timedelta(days=1)
    for intent, language, sentiment in (
        (shipping, "es", "negative"),
        (shipping, "en", "neutral"),
        (shipping, "en", "positive"),
        (account, "fr", "negative"),
    ):
        analysis = AnalysisFactory(resolved_at=yesterday, intent=intent.key)
        ClassificationFactory(
            conversation=analysis.conversation, intent=intent, language=language, sentiment=sentiment
        )
    AnalysisFactory(resolved_at=yesterday)
    rollup_refresh_all()


def panels_of(response) -> dict:
    return {panel.key: panel for panel in response.context["panels"]}


def test_sentiment_by_intent_and_over_time(leader_client, resolved):
    panels = panels_of(leader_client.get(OVERVIEW))
    assert panels["sentiment_by_intent"].rows == [
        ["Shipping issue", 1, 1, 1, 1, "33%"],
        ["Account access", 1, 0, 0, 0, "100%"],
    ]
    over = panels["sentiment"]
    assert over.columns[0] == "Period" and over.columns[1] == "Negative" and over.columns[-1] == "Total"
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    row = next(row for row in over.rows if row[0] == yesterday)
    assert dict(zip(over.columns, row, strict=True))["Negative"] == 2 and row[-1] == 5
    # Choosing an intent gives that intent's sentiment over time.
    over = panels_of(leader_client.get(OVERVIEW, {"intent": "account_access"}))["sentiment"]
    assert over.columns == ["Period", "Negative", "Total"]


def test_a_sentiment_cell_drills_down_to_its_conversations(leader_client, resolved):
    by_intent = panels_of(leader_client.get(OVERVIEW))["sentiment_by_intent"]
    negative_shipping = by_intent.links[0][1]
    drill = leader_client.get(CONVERSATIONS + negative_shipping)
    assert drill.context["result"].total == 1
    assert "sentiment negative" in drill.context["result"].title
    unknown = leader_client.get(CONVERSATIONS + by_intent.links[0][4])
    assert unknown.context["result"].total == 1


def test_the_language_filter_counts_live_and_offers_the_languages_seen(leader_client, resolved):
    response = leader_client.get(OVERVIEW, {"language": "es"})
    panels = panels_of(response)
    assert sum(row[-1] for row in panels["volume"].rows) == 1
    assert panels["sentiment_by_intent"].rows == [["Shipping issue", 1, 0, 0, 0, "100%"]]
    assert response.context["choices"]["language"] == [
        ("en", "English (en)"),
        ("fr", "French (fr)"),
        ("es", "Spanish (es)"),
    ]
    html = response.content.decode()
    assert '<option value="es" selected>Spanish (es)</option>' in html
    # Drill-downs keep the language.
    link = panels["volume"].links[next(i for i, r in enumerate(panels["volume"].rows) if r[-1])][-1]
    assert "language=es" in link
    assert leader_client.get(CONVERSATIONS + link).context["result"].total == 1
    # Agents, from the rollup otherwise, count live too; a value that is not a code is no filter.
    agents_page = reverse("intelligence:dashboard", args=["agents"])
    agents = panels_of(leader_client.get(agents_page, {"language": "en"}))
    assert sum(row[2] for row in agents["agents"].rows) == 2
    everything = panels_of(leader_client.get(OVERVIEW, {"language": "Spanish"}))
    assert sum(row[-1] for row in everything["volume"].rows) == 5
