"""The shadow review pages: replies that would have been sent, graded by reviewers; readiness per intent."""

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from bearscope.access import permission_page_required
from classification.selectors import conversation_transcript

from .forms import ShadowGradeForm
from .models import AutoReplyDecision
from .reasons import check_label
from .selectors import readiness_all, shadow_item_get, shadow_list, shadow_next
from .services.modes import shadow_review_save

REVIEW_PERMISSION = "autoreply.review_reply"
LIST_LIMIT = 100
VERDICTS = {True: "Passed", False: "Blocked", None: "Not run"}


reply_reviewer_required = permission_page_required(REVIEW_PERMISSION, "autoreply/403.html")


@require_GET
@reply_reviewer_required
def shadow_index(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    replies = shadow_list(ungraded_only=not show_all)
    shown = list(replies[:LIST_LIMIT])
    return render(
        request,
        "autoreply/shadow_list.html",
        {
            "readiness": readiness_all(),
            "replies": shown,
            "total": replies.count() if len(shown) == LIST_LIMIT else len(shown),
            "show_all": show_all,
            "limit": LIST_LIMIT,
        },
    )


def _next_or_list(request: HttpRequest, after: AutoReplyDecision) -> HttpResponseRedirect:
    following = shadow_next(after=after)
    if following is not None:
        return HttpResponseRedirect(reverse("autoreply:shadow_item", args=[following.pk]))
    messages.info(
        request, "Every shadow reply has been graded. New ones appear here as conversations arrive."
    )
    return HttpResponseRedirect(reverse("autoreply:shadow_index"))


@require_http_methods(["GET", "POST"])
@reply_reviewer_required
def shadow_item(request: HttpRequest, decision_pk: int) -> HttpResponse:
    try:
        decision = shadow_item_get(decision_pk=decision_pk)
    except AutoReplyDecision.DoesNotExist:
        raise Http404("No shadow reply with this number.") from None
    review = getattr(decision, "review", None)
    form = ShadowGradeForm(request.POST or None)
    if request.method == "POST":
        if review is not None:
            messages.warning(request, "This reply was already graded; nothing was changed.")
            return _next_or_list(request, decision)
        if form.is_valid():
            try:
                saved = shadow_review_save(decision=decision, reviewer=request.user, **form.cleaned_data)
            except IntegrityError:
                messages.warning(request, "Someone graded this reply a moment ago; their grade stands.")
                return _next_or_list(request, decision)
            messages.success(
                request,
                f"Saved: the reply to “{decision.conversation}” graded “{saved.get_grade_display()}”.",
            )
            return _next_or_list(request, decision)
    checks = [
        {
            **check,
            "label": check_label(check.get("check")),
            "verdict": VERDICTS.get(check.get("passed"), "?"),
        }
        for check in decision.checks or []
    ]
    return render(
        request,
        "autoreply/shadow_item.html",
        {
            "decision": decision,
            "classification": decision.classification,
            "conversation": decision.conversation,
            "transcript": conversation_transcript(conversation_id=decision.conversation_id),
            "checks": checks,
            "review": review,
            "form": form,
        },
    )
