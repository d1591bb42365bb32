"""The home page: what needs the signed-in user now, and the pages of their roles.

It sits on the ground floor and reaches each app's selectors by name, as the demo does.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

TRIAGE_COUNTS = "classification.selectors.triage_counts"
SHADOW_LIST = "autoreply.selectors.shadow_list"
INSIGHTS_LATEST = "intelligence.selectors.insights_latest"
CONNECTION_STATUS = "kustomer.selectors.connection_status"
CONVERSATION_SPAN = "kustomer.selectors.conversation_span"
# The permission of each role group the migrations create (bearscope/testing/factories.py ROLE_GROUPS).
TRIAGE = "classification.review_classification"
REPLIES = "autoreply.review_reply"
INSIGHTS = "intelligence.view_insights"


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict = {"has_role": any(user.has_perm(p) for p in (TRIAGE, REPLIES, INSIGHTS)) or user.is_staff}
    if user.has_perm(TRIAGE):
        context["triage"] = import_string(TRIAGE_COUNTS)()
    if user.has_perm(REPLIES):
        context["shadow_waiting"] = import_string(SHADOW_LIST)(ungraded_only=True).count()
    if user.has_perm(INSIGHTS):
        context["insights"] = import_string(INSIGHTS_LATEST)()
        # Open the dashboards on a range holding every conversation when the default 30 days would not.
        span = import_string(CONVERSATION_SPAN)()
        context["insights_query"] = f"start={span[0].isoformat()}" if span else ""
    if user.is_staff:
        context["connection"] = import_string(CONNECTION_STATUS)()
    return render(request, "home.html", context)
