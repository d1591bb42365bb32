"""Readiness on evidence: the Wilson lower bound against the bar, what is missing, and grades that stop
counting when the template's wording changes."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from autoreply.models import AutoReplyPolicy, ReplyTemplate
from autoreply.selectors import Readiness, policy_readiness
from bearscope.stats import wilson_lower_bound

from .factories import ShadowReplyFactory, ShadowReviewFactory
from .test_admin import policy_form

pytestmark = pytest.mark.django_db


def bar(approved: int, graded: int) -> Readiness:
    return Readiness(
        policy_id=1,
        label="shipping_issue / status",
        graded=graded,
        approved=approved,
        approval_rate=approved / graded if graded else None,
        wilson_lower=wilson_lower_bound(approved, graded),
        min_graded=50,
        min_approval=0.90,
    )


def graded(policy: AutoReplyPolicy, *, good: int, bad: int = 0) -> None:
    for n in range(good + bad):
        ShadowReviewFactory(decision=ShadowReplyFactory(policy=policy), grade="good" if n < good else "tone")


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(
        get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
    )
    return client


def template_form(template: ReplyTemplate, **changes) -> dict:
    data = {
        "key": template.key,
        "name": template.name,
        "variables": template.variables,
        "subject": template.subject,
        "body": template.body,
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "language": template.language,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


class TestWilsonBar:
    def test_49_good_of_50_is_refused_and_50_of_50_accepted(self):
        assert not bar(49, 50).ready  # 98% approval, at least 89.5%
        assert bar(49, 50).missing_text == "3 more good grades"
        assert bar(50, 50).ready  # at least 92.9%
        assert bar(50, 50).missing_good == 0

    def test_enough_grades_are_needed_whatever_the_rate(self):
        assert not bar(49, 49).ready  # at least 92.7%, one short of 50
        assert bar(49, 49).missing_text == "1 more good grade"
        assert bar(0, 0).missing_text == "50 more good grades"

    def test_a_bar_no_grade_can_reach_says_so(self):
        unreachable = Readiness(
            policy_id=1,
            label="x",
            graded=0,
            approved=0,
            approval_rate=None,
            wilson_lower=None,
            min_graded=50,
            min_approval=1.0,
        )
        assert unreachable.missing_good is None
        assert "the bar cannot be reached" in unreachable.missing_text


class TestTemplateChanges:
    def test_grades_before_a_wording_change_do_not_count(self, admin_client, starter):
        graded(starter, good=50)
        assert policy_readiness(policy=starter).ready

        template = starter.template
        url = f"/admin/autoreply/replytemplate/{template.pk}/change/"
        # A new name is not new wording: readiness stands.
        assert admin_client.post(url, template_form(template, name="WISMO reply")).status_code == 302
        assert policy_readiness(policy=starter).ready

        response = admin_client.post(url, template_form(template, body=template.body + "\n\nThanks!"))
        assert response.status_code == 302
        template.refresh_from_db()
        assert template.changed_at is not None
        readiness = policy_readiness(policy=starter)
        assert (readiness.graded, readiness.ready, readiness.counted_since) == (0, False, template.changed_at)
        assert readiness.missing_text == "50 more good grades"

        graded(starter, good=1)  # made and graded after the change: counts
        assert policy_readiness(policy=starter).graded == 1

    def test_switching_the_policy_to_another_template_restarts_readiness(self, admin_client, starter):
        graded(starter, good=50)
        other = ReplyTemplate.objects.create(
            key="wismo_short", name="Short WISMO", variables="", body="On its way."
        )
        url = f"/admin/autoreply/autoreplypolicy/{starter.pk}/change/"
        assert admin_client.post(url, policy_form(starter, template=other.pk)).status_code == 302
        starter.refresh_from_db()
        assert starter.template == other and starter.template_changed_at is not None
        assert policy_readiness(policy=starter).graded == 0
