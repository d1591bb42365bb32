"""The auto-reply admin: the live switch under the readiness bar, templates checked, decisions explained."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from autoreply.models import AutoReplyPolicy, PolicyAudit, ReplyTemplate

from .factories import ShadowReplyFactory, ShadowReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")


@pytest.fixture
def admin_client(ops) -> Client:
    client = Client()
    client.force_login(ops)
    return client


def policy_form(policy: AutoReplyPolicy, **changes) -> dict:
    data = {
        "intent": policy.intent_id,
        "sub_intent": policy.sub_intent_id,
        "mode": policy.mode,
        "threshold": str(policy.threshold),
        "template": policy.template_id,
        "data_check": policy.data_check,
        "override_reason": "",
        "audits-TOTAL_FORMS": "0",
        "audits-INITIAL_FORMS": "0",
        "audits-MIN_NUM_FORMS": "0",
        "audits-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


def test_live_is_refused_below_the_bar_and_allowed_with_a_reason(admin_client, starter, ops):
    url = f"/admin/autoreply/autoreplypolicy/{starter.pk}/change/"
    page = admin_client.post(url, policy_form(starter, mode="live"))
    assert page.status_code == 200
    assert "cannot go live yet: no graded replies" in page.content.decode()
    assert "It needs 50 more good grades;" in page.content.decode()
    starter.refresh_from_db()
    assert starter.mode == "shadow" and not PolicyAudit.objects.exists()

    response = admin_client.post(
        url, policy_form(starter, mode="live", override_reason="Launch day, Sam agreed")
    )
    assert response.status_code == 302
    starter.refresh_from_db()
    assert starter.mode == "live"
    audit = PolicyAudit.objects.get()
    assert (audit.user, audit.override_reason, audit.mode_before) == (ops, "Launch day, Sam agreed", "shadow")
    assert "Launch day, Sam agreed" in admin_client.get(url).content.decode()


def test_a_threshold_change_is_audited_and_readiness_shown(admin_client, starter):
    for _ in range(3):
        ShadowReviewFactory(decision=ShadowReplyFactory(policy=starter))
    url = f"/admin/autoreply/autoreplypolicy/{starter.pk}/change/"
    assert admin_client.post(url, policy_form(starter, threshold="0.97")).status_code == 302
    assert str(PolicyAudit.objects.get().threshold_after) == "0.970"
    page = admin_client.get(url).content.decode()
    assert "3 of 3 graded replies good as is (100%), at least 43.9% with 95% confidence" in page
    assert "below the bar: needs 47 more good grades" in page


def inline_forms(prefix: str, total: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_a_template_with_an_undeclared_variable_is_refused(admin_client, db):
    data = {
        "key": "refund",
        "name": "Refund",
        "variables": "order_number",
        "subject": "",
        "body": "Your refund {refund_amount} for {order_number}",
        "language": "en",
        **inline_forms("variants", 0),
        **inline_forms("versions", 0),
    }
    page = admin_client.post("/admin/autoreply/replytemplate/add/", data).content.decode()
    assert "Undeclared variable {refund_amount}" in page
    assert not ReplyTemplate.objects.filter(key="refund").exists()


def test_a_channel_version_with_an_undeclared_variable_is_refused(admin_client, db):
    data = {
        "key": "wismo",
        "name": "Where is my order",
        "variables": "order_number",
        "subject": "Order {order_number}",
        "body": "Order {order_number} is on its way.",
        "language": "en",
        **inline_forms("variants", 1),
        **inline_forms("versions", 0),
        "variants-0-channel": "chat",
        "variants-0-subject": "",
        "variants-0-body": "{order_number} ships with {carrier}",
    }
    page = admin_client.post("/admin/autoreply/replytemplate/add/", data).content.decode()
    assert "Undeclared variable {carrier}" in page
    assert not ReplyTemplate.objects.exists()
    data["variables"] = "order_number, carrier"
    assert admin_client.post("/admin/autoreply/replytemplate/add/", data).status_code == 302
    assert ReplyTemplate.objects.get().variants.get().channel == "chat"


def test_a_language_version_is_checked_and_saved(admin_client, db):
    data = {
        "key": "wismo",
        "name": "Where is my order",
        "variables": "order_number",
        "subject": "Order {order_number}",
        "body": "Order {order_number} is on its way.",
        "language": "en",
        **inline_forms("variants", 0),
        **inline_forms("versions", 1),
        "versions-0-language": "es",
        "versions-0-subject": "Pedido {order_number}",
        "versions-0-body": "Tu pedido {order_number} va con {carrier}.",
    }
    page = admin_client.post("/admin/autoreply/replytemplate/add/", data).content.decode()
    assert "Undeclared variable {carrier}" in page and not ReplyTemplate.objects.exists()
    data["versions-0-body"] = "Tu pedido {order_number} está en camino."
    assert admin_client.post("/admin/autoreply/replytemplate/add/", data).status_code == 302
    assert ReplyTemplate.objects.get().versions.get().language == "es"
    listing = admin_client.get("/admin/autoreply/replytemplate/").content.decode()
    assert '<td class="field-languages">es</td>' in listing


def test_an_unknown_declared_variable_is_refused(admin_client, db):
    template = ReplyTemplate(key="x", name="X", variables="customer_message", body="Hello")
    with pytest.raises(ValidationError, match="Unknown variable customer_message"):
        template.full_clean()


def test_a_decision_shows_every_guardrail_verdict(admin_client, db):
    decision = ShadowReplyFactory(
        verdict="blocked",
        reason="order_customer_mismatch",
        checks=[
            {"check": "switch", "passed": True, "reason": "auto-replies are on"},
            {
                "check": "data",
                "passed": False,
                "reason": "order_customer_mismatch: the order belongs to another",
            },
            {"check": "template", "passed": None, "reason": "not run: an earlier check blocked"},
        ],
    )
    page = admin_client.get(f"/admin/autoreply/autoreplydecision/{decision.pk}/change/").content.decode()
    assert "BLOCKED" in page and "order_customer_mismatch: the order belongs to another" in page
    assert "not run" in page


@pytest.mark.parametrize(
    "url",
    [
        "/admin/autoreply/autoreplysettings/add/",
        "/admin/autoreply/ordermapping/add/",
        "/admin/autoreply/autoreply/",
        "/admin/autoreply/escalation/",
        "/admin/autoreply/policyaudit/",
        "/admin/autoreply/shadowreview/",
    ],
)
def test_pages_render(admin_client, url):
    assert admin_client.get(url).status_code == 200
