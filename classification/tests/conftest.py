"""Fixtures of the triage page tests: a small taxonomy and reviewers."""

from types import SimpleNamespace

import pytest

from bearscope.testing.factories import UserFactory

from .factories import ComplexityLevelFactory, IntentFactory, PriorityLevelFactory, SubIntentFactory


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
