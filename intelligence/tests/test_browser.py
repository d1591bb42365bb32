"""The dashboards in a real headless Chromium: filter, drill down, download a CSV."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from bearscope.testing.factories import PASSWORD
from classification.tests.factories import IntentFactory
from intelligence.rollups import rollup_refresh_all

from .factories import AnalysisFactory, ops_leader

# live_server serves from another thread, so the data must be committed; serialized_rollback
# restores the groups and taxonomies the migrations made, which the flush after each test removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_ops_leader_filters_drills_down_and_downloads_a_csv(page, live_server):
    ops_leader("olivia")
    IntentFactory(key="shipping_issue", name="Shipping issue")
    IntentFactory(key="account_access", name="Account access")
    yesterday = timezone.now() - timedelta(days=1)
    AnalysisFactory.create_batch(2, resolved_at=yesterday, channel="email", agent="ana")
    AnalysisFactory(
        resolved_at=yesterday,
        channel="chat",
        intent="account_access",
        route="triage",
        agent="ben",
        effort_score=Decimal("3.5"),
        conversation__name="Locked out after password reset",
    )
    rollup_refresh_all()

    page.goto(f"{live_server.url}{reverse('intelligence:overview')}")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/insights/$"))
    assert page.get_by_role("heading", name="Insights: Overview").is_visible()
    assert (
        page.evaluate("document.querySelector('canvas[data-chart=volume]').chart.data.datasets.length") == 2
    )

    page.get_by_label("Channel").select_option("chat")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"channel=chat"))
    routing = page.locator("#panel-routing tbody tr")
    assert routing.count() == 1
    assert routing.first.locator("th").inner_text() == "Account access"
    # The chart shows only what the filter kept.
    assert (
        page.evaluate("document.querySelector('canvas[data-chart=volume]').chart.data.datasets.length") == 1
    )

    routing.first.locator("td").nth(1).get_by_role("link").click()  # the triage count
    page.wait_for_url(re.compile(r"/insights/conversations/\?.*route=triage"))
    assert page.locator("#drill-count").inner_text().startswith("1 conversation")
    assert "Locked out after password reset" in page.locator(".drill-table").inner_text()

    # Charts drill down too: a click on the first resolution-method bar opens its conversations.
    page.goto(f"{live_server.url}{reverse('intelligence:dashboard', args=['causes'])}")
    canvas = page.locator("canvas[data-chart=resolution_methods]")
    canvas.scroll_into_view_if_needed()
    bar = page.evaluate(
        "(() => { const bar = document.querySelector('canvas[data-chart=resolution_methods]')"
        ".chart.getDatasetMeta(0).data[0]; return {x: bar.x, y: (bar.y + bar.base) / 2}; })()"
    )
    canvas.click(position=bar)
    page.wait_for_url(re.compile(r"/insights/conversations/\?.*method=information_provided"))
    assert page.get_by_role(
        "heading", name="Resolved conversations: resolved by information provided"
    ).is_visible()
    assert page.locator("#drill-count").inner_text().startswith("3 conversations")

    page.go_back()
    page.go_back()
    page.wait_for_url(re.compile(r"route=triage"))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()
    assert content[0].startswith("Resolved,Conversation,Kustomer id,Intent,Channel")
    assert len(content) == 2 and "Locked out after password reset" in content[1] and ",chat," in content[1]
