"""The backtest pages in a real headless Chromium: the list, a report with its charts, a comparison."""

import re
from datetime import date

import pytest
from django.urls import reverse

from bearscope.testing.factories import PASSWORD, UserFactory
from classification.tests.factories import IntentFactory
from intelligence.backtests.running import backtest_finish
from intelligence.models import Backtest, BacktestItem
from kustomer.tests.factories import ConversationFactory

from .factories import ops_leader

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# (conversation name, label, first run's answer and route, second run's answer and route)
ROWS = [
    ("Where is BS-1?", "shipping_issue", ("shipping_issue", 0.97, "auto"), ("shipping_issue", 0.97, "auto")),
    ("Parcel late", "shipping_issue", ("shipping_issue", 0.93, "auto"), ("shipping_issue", 0.80, "triage")),
    ("Locked out", "account_access", ("shipping_issue", 0.91, "auto"), ("account_access", 0.95, "auto")),
    ("Cancel please", "", ("order_issue", 0.40, "triage"), ("order_issue", 0.40, "triage")),
]


def backtests() -> tuple[Backtest, Backtest]:
    IntentFactory(key="shipping_issue", name="Shipping issue")
    IntentFactory(key="account_access", name="Account access")
    IntentFactory(key="order_issue", name="Order issue")
    conversations = [ConversationFactory(name=name) for name, *_ in ROWS]
    runs = []
    for index, name in enumerate(("Local, threshold 0.90", "Claude, new prompt")):
        run = Backtest.objects.create(name=name, provider="local", since=date(2026, 9, 1), total=len(ROWS))
        for conversation, (_, label, *answers) in zip(conversations, ROWS, strict=True):
            intent, confidence, route = answers[index]
            BacktestItem.objects.create(
                backtest=run,
                conversation=conversation,
                done=True,
                intent=intent,
                confidence=confidence,
                route=route,
                label_intent=label,
                label_source="imported" if label else "",
            )
        runs.append(backtest_finish(backtest=run))
    return runs[0], runs[1]


def sign_in(page, live_server, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_an_ops_leader_reads_a_backtest_and_compares_two(page, live_server):
    ops_leader("olivia")
    first, second = backtests()
    sign_in(page, live_server, reverse("backtests:list"))
    page.wait_for_url(re.compile(r"/backtests/$"))
    assert page.locator("#backtests tbody tr").count() == 2

    page.get_by_role("link", name="Local, threshold 0.90").click()
    page.wait_for_url(re.compile(rf"/backtests/{first.pk}/$"))
    figures = dict(
        zip(
            page.locator("#figures th").all_inner_texts(),
            page.locator("#figures td").all_inner_texts(),
            strict=True,
        )
    )
    assert figures["Intent accuracy"] == "66.7%"  # 2 of the 3 labelled
    assert figures["Routed automatically"] == "75.0%"
    assert page.locator("#confused tbody tr").first.inner_text().split("\t")[:2] == [
        "Account access",
        "Shipping issue",
    ]
    assert (
        page.evaluate(
            "document.querySelector('canvas[data-chart=chart-calibration]').chart.data.datasets.length"
        )
        == 2
    )

    page.get_by_label("Backtest to compare with").select_option(str(second.pk))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"/backtests/compare/"))
    side = page.locator("#side-by-side tbody tr").nth(2)
    assert side.locator("th").inner_text() == "Intent accuracy"
    side = side.locator("td").all_inner_texts()
    assert side == ["66.7%", "100.0%"]
    changed = page.locator("#changed tbody tr")
    assert changed.count() == 2
    assert changed.filter(has_text="Locked out").locator("td").all_inner_texts() == [
        "Account access",
        "Shipping issue (auto)",
        "Account access (auto)",
    ]


def test_empty_pages_say_why(client):
    ops_leader("olivia")
    client.force_login(UserFactory(username="viewer"))
    assert client.get(reverse("backtests:list")).status_code == 403
    client.force_login(ops_leader("oscar"))
    page = client.get(reverse("backtests:list")).content.decode()
    assert "kustomer_import" in page and "No backtest yet" in page
    run = Backtest.objects.create(name="Empty", provider="local", since=date(2026, 9, 1))
    ConversationFactory()
    run = backtest_finish(backtest=run)
    page = client.get(reverse("backtests:detail", args=[run.pk])).content.decode()
    assert "No past conversations in this range" in page
    run.report = {**run.report, "conversations": 3}
    run.save()
    page = client.get(reverse("backtests:detail", args=[run.pk])).content.decode()
    assert "No reference labels yet" in page and "backtest_labels_import" in page
