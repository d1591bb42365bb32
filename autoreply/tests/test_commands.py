"""bearscope_setup and autoreply_mode: the starter, and switching modes under the readiness bar."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from autoreply.models import (
    AutoReplyPolicy,
    AutoReplySettings,
    Mode,
    OrderMapping,
    PolicyAudit,
    ReplyTemplate,
)
from classification.models import Intent

from .factories import ShadowReplyFactory, ShadowReviewFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def graded(policy: AutoReplyPolicy, *, good: int, bad: int = 0) -> None:
    for n in range(good + bad):
        ShadowReviewFactory(
            decision=ShadowReplyFactory(policy=policy), grade="good" if n < good else "wrong_data"
        )


class TestSetup:
    def test_the_ecommerce_starter_loads_taxonomy_policy_and_mapping(self):
        out = run("bearscope_setup", "--starter", "ecommerce")
        assert "Loaded 10 intents, 55 sub-intents" in out
        policy = AutoReplyPolicy.objects.get()
        assert (policy.intent.key, policy.sub_intent.key, policy.mode) == (
            "shipping_issue",
            "status",
            "shadow",
        )
        assert policy.threshold == Decimal("0.950") and policy.data_check == "order"
        assert policy.template.key == "wismo" and policy.template.variants.get().channel == "chat"
        mapping = OrderMapping.load()
        assert (mapping.klass_name, mapping.field_order_number, mapping.field_email) == (
            "order",
            "externalId",
            "custom.emailStr",
        )
        assert (mapping.field_status, mapping.field_carrier) == ("custom.statusStr", "custom.carrierStr")
        assert (mapping.field_tracking_url, mapping.field_estimated_delivery) == (
            "custom.trackingUrl",
            "custom.estimatedDeliveryAt",
        )
        assert AutoReplySettings.load().enabled is True

    def test_running_it_again_keeps_a_policys_mode(self):
        run("bearscope_setup", "--starter", "ecommerce")
        AutoReplyPolicy.objects.update(mode=Mode.LIVE)
        out = run("bearscope_setup", "--starter", "ecommerce")
        assert "(kept as it was)" in out
        assert AutoReplyPolicy.objects.get().mode == "live"
        assert ReplyTemplate.objects.count() == 1 and Intent.objects.filter(parent=None).count() == 10

    def test_an_unknown_starter_is_a_clear_error(self):
        with pytest.raises(CommandError, match="invalid choice"):
            call_command("bearscope_setup", "--starter", "banking")


class TestMode:
    @pytest.fixture
    def policy(self):
        run("bearscope_setup", "--starter", "ecommerce")
        return AutoReplyPolicy.objects.get()

    def test_shadow_to_draft_with_a_threshold_is_audited(self, policy):
        out = run("autoreply_mode", "shipping_issue", "draft", "--threshold", "0.97")
        assert "shadow → draft, threshold 0.970" in out
        policy.refresh_from_db()
        assert (policy.mode, policy.threshold) == ("draft", Decimal("0.970"))
        audit = PolicyAudit.objects.get()
        assert (audit.actor, audit.mode_before, audit.mode_after) == (
            "manage.py autoreply_mode",
            "shadow",
            "draft",
        )

    def test_live_is_refused_below_the_bar(self, policy):
        graded(policy, good=49)  # every grade good, one graded reply short
        refused = "cannot go live yet: 49 of 49 graded replies good as is"
        with pytest.raises(CommandError, match=refused) as caught:
            call_command("autoreply_mode", "shipping_issue", "live")
        assert "It needs 1 more good grade;" in str(caught.value)
        policy.refresh_from_db()
        assert policy.mode == "shadow" and not PolicyAudit.objects.exists()

    def test_49_good_of_50_is_refused_on_the_wilson_bound(self, policy):
        graded(policy, good=49, bad=1)  # 98% approval, but at least only 89.5% with 95% confidence
        refused = r"at least 89\.5% with 95% confidence; the bar is at least 90\.0%"
        with pytest.raises(CommandError, match=refused):
            call_command("autoreply_mode", "shipping_issue", "live")
        policy.refresh_from_db()
        assert policy.mode == "shadow"

    def test_50_good_of_50_is_allowed(self, policy):
        graded(policy, good=50)  # at least 92.9% with 95% confidence
        run("autoreply_mode", "shipping_issue", "live")
        policy.refresh_from_db()
        assert policy.mode == "live"
        audit = PolicyAudit.objects.get()
        assert audit.readiness["ready"] is True and audit.readiness["graded"] == 50
        assert audit.readiness["wilson_lower"] == pytest.approx(0.9287, abs=1e-4)
        assert audit.override_reason == ""

    def test_an_override_reason_allows_live_and_is_kept(self, policy):
        out = run(
            "autoreply_mode", "shipping_issue", "live", "--override-reason", "Peak season, approved by Sam"
        )
        assert "override: Peak season, approved by Sam" in out
        audit = PolicyAudit.objects.get()
        assert audit.readiness["ready"] is False
        assert audit.override_reason == "Peak season, approved by Sam"

    def test_the_bar_is_set_in_the_settings(self, policy):
        AutoReplySettings.objects.filter(pk=1).update(readiness_min_graded=3, readiness_min_approval="0.2")
        graded(policy, good=2, bad=1)  # at least 20.8% with 95% confidence
        run("autoreply_mode", "shipping_issue", "live")
        policy.refresh_from_db()
        assert policy.mode == "live"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("order_issue", "shadow"), "No auto-reply policy for order_issue"),
            (("shipping_issue", "shadow", "--threshold", "1.5"), "from 0 to 1"),
            (("shipping_issue", "shadow", "--threshold", "high"), "must be a number"),
            (("shipping_issue", "loud"), "invalid choice"),
        ],
    )
    def test_bad_input_is_a_clear_error_and_changes_nothing(self, policy, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("autoreply_mode", *args)
        policy.refresh_from_db()
        assert (policy.mode, policy.threshold) == ("shadow", Decimal("0.950"))
