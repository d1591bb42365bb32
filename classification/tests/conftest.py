"""Fixtures of the triage page tests: a small taxonomy, reviewers, and a headless Chromium."""

import os
import shutil
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from .factories import (
    ComplexityLevelFactory,
    IntentFactory,
    PriorityLevelFactory,
    SubIntentFactory,
    UserFactory,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def taxonomy(db) -> SimpleNamespace:
    """Three intents with sub-intents, two priorities, two complexities."""
    shipping = IntentFactory(key="shipping_issue", name="Shipping issue", position=0)
    account = IntentFactory(key="account_access", name="Account access", position=1)
    order = IntentFactory(key="order_issue", name="Order issue", position=2)
    return SimpleNamespace(
        shipping=shipping,
        account=account,
        order=order,
        status=SubIntentFactory(parent=shipping, key="status", name="Where is my order", position=0),
        missing=SubIntentFactory(parent=shipping, key="missing", name="Parcel missing", position=1),
        password=SubIntentFactory(
            parent=account, key="recover_password", name="Recover password", position=0
        ),
        two_fa=SubIntentFactory(parent=account, key="reset_2fa", name="Reset two-factor", position=1),
        cancel=SubIntentFactory(parent=order, key="manage_cancel", name="Cancel an order", position=0),
        normal=PriorityLevelFactory(key="normal", name="Normal", kustomer_priority=3, position=0),
        high=PriorityLevelFactory(key="high", name="High", kustomer_priority=4, position=1),
        simple=ComplexityLevelFactory(key="simple", name="Simple", position=0),
        moderate=ComplexityLevelFactory(key="moderate", name="Moderate", position=1),
    )


@pytest.fixture
def reviewer(db):
    return UserFactory(username="maya", first_name="Maya", last_name="Patel", reviewer=True)


@pytest.fixture
def second_reviewer(db):
    return UserFactory(username="daniel", first_name="Daniel", last_name="Okafor", reviewer=True)


@pytest.fixture
def outsider(db):
    """Signed in, but not a triage reviewer."""
    return UserFactory(username="ava", first_name="Ava", last_name="Thompson")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium per module; skipped without /usr/bin/chromium, except in CI."""
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        reason = f"{CHROMIUM} is missing: browser tests need Debian's chromium (scripts/ensure_chromium.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    # calls while one runs; the test thread only makes ordinary blocking queries.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh page; anything the Content-Security-Policy blocked on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5000)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    context.close()
    assert blocked == [], blocked
