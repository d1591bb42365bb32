"""The dashboards: who may see them, what they count, drill-downs and CSV downloads."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from bearscope.testing.factories import UserFactory
from classification.tests.factories import ClassificationFactory, IntentFactory, TriageReviewFactory
from intelligence.rollups import rollup_refresh_all
from kustomer.models import Agent, Team
from kustomer.people import people_sync
from kustomer.tests.test_sandbox import control

from .factories import AnalysisFactory, ops_leader

pytestmark = pytest.mark.django_db
PAGES = ["intelligence:overview", ("intelligence:dashboard", "causes"), ("intelligence:dashboard", "agents")]


def url(name, *args) -> str:
    return reverse(name, args=args)


@pytest.fixture
def leader_client(client):
    client.force_login(ops_leader())
    return client


@pytest.fixture
def history():
    synced = timezone.now()
    Agent.objects.create(kustomer_id="ana", name="Ana Lopez", synced_at=synced)
    Team.objects.create(kustomer_id="care", name="Customer Care", synced_at=synced)
    IntentFactory(key="shipping_issue", name="Shipping issue")
    IntentFactory(key="account_access", name="Account access")
    yesterday = timezone.now() - timedelta(days=1)
    AnalysisFactory.create_batch(3, resolved_at=yesterday, agent="ana", team="care")
    AnalysisFactory(
        resolved_at=yesterday,
        intent="account_access",
        route="triage",
        agent="ben",
        team="billing",
        channel="chat",
        effort_score=Decimal("4.4"),
        first_response_seconds=1200,
    )
    AnalysisFactory(resolved_at=timezone.now() - timedelta(days=90), agent="ana")  # outside the default range
    rollup_refresh_all()


def test_the_migration_made_the_ops_leaders_group_with_the_permission():
    group = Group.objects.get(name="Ops leaders")
    assert list(group.permissions.values_list("codename", flat=True)) == ["view_insights"]
    member = UserFactory(username="lee")
    member.groups.add(group)
    assert member.has_perm("intelligence.view_insights")


@pytest.mark.parametrize("page", PAGES)
def test_others_get_403_and_anonymous_users_the_login_page(client, page):
    target = url(page) if isinstance(page, str) else url(*page)
    response = client.get(target)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(UserFactory(username="sam"))
    response = client.get(target)
    assert response.status_code == 403
    assert "Ops leaders" in response.content.decode()
    assert client.get(url("intelligence:conversations")).status_code == 403
    assert client.get(url("intelligence:panel_csv", "agents", "agents")).status_code == 403


def test_overview_counts_volume_and_routing_from_the_rollup(leader_client, history):
    response = leader_client.get(url("intelligence:overview"))
    assert response.status_code == 200
    panels = {p.key: p for p in response.context["panels"]}
    volume = panels["volume"]
    assert volume.columns[:3] == ["Period", "Shipping issue", "Account access"]
    assert sum(row[-1] for row in volume.rows) == 4  # the 90-day-old one is outside the range
    assert panels["routing"].rows == [["Shipping issue", 3, 0, "100%"], ["Account access", 0, 1, "0%"]]
    assert "No auto-reply decision from " in response.content.decode()
    assert b"chart.umd.js" in response.content


def test_filters_narrow_every_panel_and_an_agent_filter_counts_live(leader_client, history):
    response = leader_client.get(url("intelligence:overview"), {"channel": "chat"})
    assert response.context["panels"][1].rows == [["Account access", 0, 1, "0%"]]
    response = leader_client.get(url("intelligence:dashboard", "agents"), {"agent": "ben"})
    rows = response.context["panels"][0].rows
    assert rows == [["Unknown agent (ben)", "Unknown team (billing)", 1, 20.0, 1.0, 5.0, 4.0, 4.4]]


def test_effort_formula_is_shown_and_effort_bands_drill_down(leader_client, history):
    response = leader_client.get(url("intelligence:dashboard", "causes"))
    effort = next(p for p in response.context["panels"] if p.key == "effort")
    assert "0.75 per transfer" in effort.note
    account = next(
        row for row, links in zip(effort.rows, effort.links, strict=True) if row[0] == "Account access"
    )
    assert account[1:5] == [0, 0, 0, 1]
    link = next(
        links[4] for row, links in zip(effort.rows, effort.links, strict=True) if row[0] == "Account access"
    )
    drill = leader_client.get(url("intelligence:conversations") + link)
    assert drill.context["result"].total == 1
    assert drill.context["result"].rows[0][6] == "Unknown agent (ben)"


def test_panel_csv_matches_the_table(leader_client, history):
    response = leader_client.get(url("intelligence:panel_csv", "agents", "agents"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Agent", "Team", "Conversations"]
    assert [r[:3] for r in rows[1:]] == [
        ["Ana Lopez", "Customer Care", "3"],
        ["Unknown agent (ben)", "Unknown team (billing)", "1"],
    ]
    assert leader_client.get(url("intelligence:panel_csv", "agents", "nope")).status_code == 404


def test_backlog_and_agreement_drill_down(leader_client, history):
    shipping = IntentFactory(key="shipping_issue")
    ClassificationFactory(intent=shipping, classified_at=timezone.now() - timedelta(hours=2))
    reviewed = ClassificationFactory(intent=shipping)
    TriageReviewFactory(classification=reviewed, intent=IntentFactory(key="account_access"), agreed=False)
    response = leader_client.get(url("intelligence:overview"))
    panels = {p.key: p for p in response.context["panels"]}
    assert panels["backlog"].rows[1] == ["1 to 4 hours", 1]
    assert panels["agreement"].rows == [["Shipping issue", 1, 0, "0%"]]
    drill = leader_client.get(url("intelligence:conversations") + panels["backlog"].links[1][1])
    assert drill.context["result"].total == 1
    drill = leader_client.get(url("intelligence:conversations") + panels["agreement"].links[0][1])
    assert drill.context["result"].rows[0][5] == "Corrected"


def test_drilldown_csv_has_every_row(leader_client, history):
    response = leader_client.get(url("intelligence:conversations_csv"), {"agent": "ana"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 3
    assert {(r[5], r[6]) for r in rows[1:]} == {("Customer Care", "Ana Lopez")}


def test_csv_cells_from_customers_cannot_start_a_formula(leader_client, history):
    AnalysisFactory(conversation__name='=HYPERLINK("http://example.com")', agent="zed")
    response = leader_client.get(url("intelligence:conversations_csv"), {"agent": "zed"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == '\'=HYPERLINK("http://example.com")'


def test_admin_pages_show_analyses_and_the_taxonomies(admin_client):
    analysis = AnalysisFactory(
        extraction_status="invalid", extraction_error="invalid_output: bad key", agent="ana"
    )
    Agent.objects.create(kustomer_id="ana", name="Ana Lopez", synced_at=timezone.now())
    AnalysisFactory(agent="gone-42")
    changelist = admin_client.get(reverse("admin:intelligence_conversationanalysis_changelist"))
    assert changelist.status_code == 200
    assert b"Ana Lopez" in changelist.content and b"Unknown agent (gone-42)" in changelist.content
    change = admin_client.get(reverse("admin:intelligence_conversationanalysis_change", args=[analysis.pk]))
    assert b"invalid_output: bad key" in change.content and b"Ana Lopez" in change.content
    causes = admin_client.get(reverse("admin:intelligence_rootcause_changelist"))
    assert b"Policy confusion" in causes.content  # a default made by the migration
    response = admin_client.post(
        reverse("admin:intelligence_conversationanalysis_changelist"),
        {"action": "retry_extraction", "_selected_action": [analysis.pk]},
    )
    assert response.status_code == 302
    analysis.refresh_from_db()
    assert (analysis.extraction_status, analysis.extraction_attempts) == ("failed", 0)


def test_auto_reply_outcomes_count_by_mode_verdict_and_grade_and_drill_down(leader_client):
    from autoreply.models import AutoReplyDecision
    from autoreply.tests.factories import ShadowReplyFactory, ShadowReviewFactory

    ShadowReviewFactory(grade="good")
    ShadowReviewFactory(grade="tone")
    ShadowReplyFactory()
    ShadowReplyFactory(mode="off", verdict=AutoReplyDecision.Verdict.BLOCKED, reason="intent")
    response = leader_client.get(url("intelligence:overview"))
    panel = next(p for p in response.context["panels"] if p.key == "autoreply")
    assert panel.rows == [
        ["off", "blocked", "not graded", 1],
        ["shadow", "reply", "good", 1],
        ["shadow", "reply", "not graded", 1],
        ["shadow", "reply", "tone", 1],
    ]
    drill = panel.links[2][3]
    listed = leader_client.get(url("intelligence:conversations") + drill)
    assert listed.status_code == 200
    assert listed.context["result"].total == 1
    assert "shadow / reply / not graded" in listed.content.decode()


def test_agents_synced_from_kustomer_show_by_name_on_the_page_its_filters_and_its_csv(
    leader_client, kustomer_sandbox
):
    marcus, orders = "6650a1b2c3d4e5f600a1b203", "6650a1b2c3d4e5f600a1e201"
    AnalysisFactory.create_batch(2, resolved_at=timezone.now() - timedelta(days=1), agent=marcus, team=orders)
    rollup_refresh_all()
    people_sync(page_size=5)  # more than one page of users
    response = leader_client.get(url("intelligence:dashboard", "agents"))
    assert [row[:3] for row in response.context["panels"][0].rows] == [
        ["Marcus Bell", "Orders & Delivery", 2]
    ]
    assert response.context["choices"]["agent"] == [(marcus, "Marcus Bell")]
    assert response.context["choices"]["team"] == [(orders, "Orders & Delivery")]
    shown_text = re.sub(r"<[^>]*>", " ", response.content.decode())  # what a person reads, not links
    assert "Marcus Bell" in shown_text and marcus not in shown_text and orders not in shown_text

    control(kustomer_sandbox, "POST", f"users/{marcus}", {"name": "Marcus Bell-Okoro", "deliver": False})
    people_sync(page_size=5)
    response = leader_client.get(url("intelligence:panel_csv", "agents", "agents"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[:3] for r in rows[1:]] == [["Marcus Bell-Okoro", "Orders & Delivery", "2"]]
