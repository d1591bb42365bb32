"""Empty dashboard panels say why; the auto-reply panel follows the intent filter; CSV names carry the
filters; conversations link to Kustomer; wide tables scroll by keyboard."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from autoreply.models import AutoReplyDecision, AutoReplyPolicy, ReplyTemplate
from autoreply.tests.factories import ShadowReplyFactory
from classification.tests.factories import ClassificationFactory, IntentFactory
from intelligence.models import ConversationAnalysis
from intelligence.rollups import rollup_refresh_all

from .factories import AnalysisFactory, ops_leader

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader_client(client):
    client.force_login(ops_leader())
    return client


def panel(response, key: str):
    return next(p for p in response.context["panels"] if p.key == key)


def test_nothing_analysed_yet_says_when_it_will_be(leader_client, settings):
    settings.INSIGHTS_QUIET_PERIOD_SECONDS = 600
    AnalysisFactory(status=ConversationAnalysis.Status.WAITING)
    response = leader_client.get(reverse("intelligence:overview"))
    routing = panel(response, "routing")
    assert routing.rows == []
    assert routing.empty.startswith("No resolved conversation has been analysed yet")
    assert "10 minutes after it is resolved" in routing.empty
    assert "1 resolved conversation is waiting" in routing.empty
    assert routing.empty in response.content.decode()


def test_an_empty_range_says_so_and_what_to_do(leader_client):
    AnalysisFactory(resolved_at=timezone.now() - timedelta(days=60))
    rollup_refresh_all()
    response = leader_client.get(reverse("intelligence:overview"))
    assert panel(response, "volume").rows == []  # no table of zeros
    assert "Nothing was resolved from" in panel(response, "volume").empty
    assert "Widen the date range" in panel(response, "volume").empty


def test_resolved_but_not_yet_in_the_rollup_says_the_refresh_interval(leader_client):
    AnalysisFactory()
    response = leader_client.get(reverse("intelligence:overview"))
    assert "not counted yet: the figures refresh every 5 minutes" in panel(response, "routing").empty


def test_root_causes_without_a_key_say_the_key_is_missing(leader_client, settings):
    settings.ANTHROPIC_API_KEY = ""
    AnalysisFactory(
        extraction_status=ConversationAnalysis.Extraction.WAITING_KEY, root_cause=None, resolution_method=None
    )
    rollup_refresh_all()
    response = leader_client.get(reverse("intelligence:dashboard", args=["causes"]))
    assert "no ANTHROPIC_API_KEY is set" in panel(response, "resolution_methods").empty


def test_the_autoreply_panel_follows_the_intent_filter_and_names_a_missing_policy(leader_client):
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue")
    account = IntentFactory(key="account_access", name="Account access")
    ShadowReplyFactory(classification=ClassificationFactory(intent=shipping, route="auto"))
    ShadowReplyFactory(
        classification=ClassificationFactory(intent=account, route="auto"),
        mode="off",
        verdict=AutoReplyDecision.Verdict.BLOCKED,
        reason="intent",
    )
    def autoreply_panel(**filters):
        return panel(leader_client.get(reverse("intelligence:overview"), filters), "autoreply")

    assert sum(row[-1] for row in autoreply_panel().rows) == 2
    shipping_only = autoreply_panel(intent="shipping_issue")
    assert [row[:2] for row in shipping_only.rows] == [["shadow", "reply"]]
    drill = leader_client.get(
        reverse("intelligence:conversations"),
        {"list": "autoreply", "intent": "shipping_issue", "ar_mode": "shadow", "ar_verdict": "reply"},
    )
    assert drill.context["result"].total == 1

    AutoReplyDecision.objects.filter(classification__intent=shipping).delete()
    empty = autoreply_panel(intent="shipping_issue")
    assert empty.rows == [] and "This intent has no auto-reply policy" in empty.empty
    template = ReplyTemplate.objects.create(key="wismo", name="Where is my order", body="It is on its way.")
    AutoReplyPolicy.objects.create(intent=shipping, mode="shadow", template=template)
    empty = autoreply_panel(intent="shipping_issue")
    assert empty.empty.startswith("No auto-reply decision from")


def test_csv_file_names_carry_the_range_and_filters(leader_client):
    AnalysisFactory()
    rollup_refresh_all()
    today = timezone.now().date()
    start = (today - timedelta(days=6)).isoformat()
    response = leader_client.get(
        reverse("intelligence:panel_csv", args=["overview", "routing"]),
        {"start": start, "end": today.isoformat(), "intent": "shipping_issue", "channel": "email"},
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="routing_{start}_{today.isoformat()}_intent-shipping_issue_channel-email.csv"'
    )
    response = leader_client.get(
        reverse("intelligence:conversations_csv"), {"agent": "agent-ana", "route": "auto"}
    )
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="conversations_')
    assert disposition.endswith('_agent-agent-ana_route-auto.csv"')


def test_drilldown_rows_link_to_kustomer_and_scroll_by_keyboard(leader_client, settings):
    settings.KUSTOMER_APP_URL = "https://acme.kustomerapp.com/"
    analysis = AnalysisFactory()
    html = leader_client.get(reverse("intelligence:conversations")).content.decode()
    kustomer_id = analysis.conversation.kustomer_id
    assert f'href="https://acme.kustomerapp.com/app/conversations/{kustomer_id}"' in html
    assert 'class="table-wrap" tabindex="0" role="region" aria-label="Resolved conversations' in html
    settings.KUSTOMER_APP_URL = ""
    assert "kustomerapp.com" not in leader_client.get(reverse("intelligence:conversations")).content.decode()
