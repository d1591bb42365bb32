"""Admin actions that change data need the change permission; decisions, reviews, audits stay."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from autoreply.models import AutoReply, PolicyAudit
from autoreply.starter import starter_load
from autoreply.tests.factories import ShadowReplyFactory
from bearscope.testing.factories import UserFactory
from classification.tests.factories import TriageReviewFactory
from intelligence.models import ConversationAnalysis

from .factories import AnalysisFactory

pytestmark = pytest.mark.django_db


def _staff(client, *codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def _actions(client, changelist: str) -> set[str]:
    response = client.get(reverse(changelist))
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered at all
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_extract_again_needs_the_change_permission(client):
    analysis = AnalysisFactory(extraction_status="failed", extraction_attempts=3)
    changelist = "admin:intelligence_conversationanalysis_changelist"
    viewer = _staff(client, "view_conversationanalysis")
    assert "retry_extraction" not in _actions(viewer, changelist)
    viewer.post(reverse(changelist), {"action": "retry_extraction", "_selected_action": [analysis.pk]})
    analysis.refresh_from_db()
    assert analysis.extraction_attempts == 3  # untouched

    editor = _staff(client, "view_conversationanalysis", "change_conversationanalysis")
    assert "retry_extraction" in _actions(editor, changelist)
    editor.post(reverse(changelist), {"action": "retry_extraction", "_selected_action": [analysis.pk]})
    analysis.refresh_from_db()
    assert analysis.extraction_attempts == 0
    assert ConversationAnalysis.objects.count() == 1


def test_finishing_replies_needs_the_change_permission(client):
    decision = ShadowReplyFactory()
    AutoReply.objects.create(
        conversation=decision.conversation, decision=decision, mode="live", channel="email", body="Hello"
    )
    changelist = "admin:autoreply_autoreply_changelist"
    assert "finish_replies" not in _actions(_staff(client, "view_autoreply"), changelist)
    assert "finish_replies" in _actions(_staff(client, "view_autoreply", "change_autoreply"), changelist)


def test_syncing_agents_needs_the_change_permission(client):
    viewer = _staff(client, "view_agent", "view_team")
    assert "Sync users and teams now" not in viewer.get("/admin/kustomer/agent/").content.decode()
    viewer.post("/admin/kustomer/agent/sync/")
    messages = [str(m) for m in viewer.get("/admin/kustomer/agent/").context["messages"]]
    assert "You may not sync users and teams." in messages


def test_decisions_reviews_and_policy_audits_cannot_be_deleted_even_by_a_superuser(admin_client):
    decision = ShadowReplyFactory()
    review = TriageReviewFactory()
    policy = starter_load(starter="ecommerce").policy
    audit = PolicyAudit.objects.create(policy=policy, actor="lee", mode_after="shadow")
    targets = [
        ("autoreply_autoreplydecision", decision.pk),
        ("classification_triagereview", review.pk),
        ("autoreply_policyaudit", audit.pk),
    ]
    for model, pk in targets:
        assert admin_client.get(reverse(f"admin:{model}_delete", args=[pk])).status_code == 403
        assert "delete_selected" not in _actions(admin_client, f"admin:{model}_changelist")
    response = admin_client.post(
        reverse("admin:classification_triagereview_changelist"),
        {"action": "delete_selected", "_selected_action": [review.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    review.refresh_from_db()  # still there: DoesNotExist otherwise
