"""The triage reviewers' pages: the queue, one conversation to review, the quality report."""

from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from bearscope.access import permission_page_required

from .forms import QueueFilterForm, TriageReviewForm, queue_filters_from
from .models import Classification, Intent, TriageReview
from .quality import quality_report
from .reasons import QueueReason, reason_label
from .selectors import (
    QueueFilters,
    conversation_transcript,
    triage_channels,
    triage_counts,
    triage_item_get,
    triage_next,
    triage_queue,
)
from .services.audit import audit_drift_check
from .services.triage import CLAIM_MINUTES, triage_claim, triage_review_save

REVIEW_PERMISSION = "classification.review_classification"
QUEUE_LIMIT = 100


reviewer_required = permission_page_required(REVIEW_PERMISSION, "classification/403.html")


def _with_query(url: str, filters: QueueFilters) -> str:
    query = filters.as_query()
    return f"{url}?{urlencode(query)}" if query else url


def _item_url(classification: Classification, filters: QueueFilters) -> str:
    return _with_query(reverse("classification:item", args=[classification.pk]), filters)


def _intent_text(intent: Intent | None, sub_intent: Intent | None) -> str:
    if intent is None:
        return "no intent"
    return f"{intent.name} / {sub_intent.name}" if sub_intent else intent.name


@require_GET
@reviewer_required
def queue(request: HttpRequest) -> HttpResponse:
    filters = queue_filters_from(request.GET)
    form = QueueFilterForm(filters=filters, channels=triage_channels())
    items = triage_queue(filters=filters)
    shown = list(items[:QUEUE_LIMIT])
    now = timezone.now()
    for classification in shown:
        classification.reason_label = reason_label(classification.queue_reason)
        classification.held = classification.claimed_by_id is not None and classification.claimed_until > now
    return render(
        request,
        "classification/queue.html",
        {
            "form": form,
            "filters": filters,
            "query": urlencode(filters.as_query()),
            "items": shown,
            "matching": items.count() if len(shown) == QUEUE_LIMIT else len(shown),
            "counts": triage_counts(),
            "queue_limit": QUEUE_LIMIT,
        },
    )


def _held_page(request: HttpRequest, classification: Classification, filters: QueueFilters) -> HttpResponse:
    classification.refresh_from_db(fields=["claimed_by", "claimed_until"])
    if classification.claimed_by_id is None:
        # The holder saved or let go between our claim and this read: try again.
        return HttpResponseRedirect(_item_url(classification, filters))
    return render(
        request,
        "classification/held.html",
        {
            "classification": classification,
            "holder": classification.claimed_by,
            "queue_url": _with_query(reverse("classification:queue"), filters),
        },
    )


def _go_next(request: HttpRequest, filters: QueueFilters) -> HttpResponseRedirect:
    following = triage_next(filters=filters, user=request.user)
    if following is not None:
        return HttpResponseRedirect(_item_url(following, filters))
    if filters.active:
        messages.info(request, "No more conversations match these filters. The queue is empty for them.")
    else:
        messages.info(request, "The queue is empty. Every conversation in triage has been reviewed.")
    return HttpResponseRedirect(_with_query(reverse("classification:queue"), filters))


def _already_reviewed(
    request: HttpRequest, review: TriageReview, filters: QueueFilters
) -> HttpResponseRedirect:
    who = (
        (review.reviewer.get_full_name() or review.reviewer.get_username()) if review.reviewer else "someone"
    )
    messages.warning(
        request,
        f"This conversation was already reviewed by {who}. Nothing was changed; here is the next one.",
    )
    return _go_next(request, filters)


@require_http_methods(["GET", "POST"])
@reviewer_required
def item(request: HttpRequest, classification_pk: int) -> HttpResponse:
    filters = queue_filters_from(request.GET)
    try:
        classification = triage_item_get(classification_pk=classification_pk)
    except Classification.DoesNotExist:
        raise Http404("No conversation in triage with this number.") from None
    review = getattr(classification, "review", None)
    if review is not None:
        return _already_reviewed(request, review, filters)
    if not classification.current:
        messages.warning(request, "This conversation was classified again; review the new result instead.")
        return _go_next(request, filters)
    if not triage_claim(classification=classification, user=request.user):
        return _held_page(request, classification, filters)

    form = TriageReviewForm(request.POST or None, classification=classification)
    if request.method == "POST" and form.is_valid():
        try:
            saved = triage_review_save(
                classification=classification, reviewer=request.user, **form.cleaned_data
            )
        except IntegrityError:
            # A second submit raced the first one past the check above; the first review stands.
            return _already_reviewed(
                request, TriageReview.objects.get(classification=classification), filters
            )
        chosen = _intent_text(saved.intent, saved.sub_intent)
        if classification.audit:
            # The AI's answer is revealed only now that the reviewer's own label is saved.
            verdict = "You agreed with" if saved.agreed else "You disagreed with"
            ai = _intent_text(classification.intent, classification.sub_intent)
            messages.success(
                request,
                f"Audit saved: “{classification.conversation}” labelled {chosen}. {verdict} the AI, which "
                f"routed it automatically as {ai} at confidence {classification.confidence:.2f}.",
            )
        else:
            verdict = "confirmed" if saved.agreed else "corrected"
            messages.success(
                request,
                f"Saved: “{classification.conversation}” {verdict} as {chosen}. "
                "The update is on its way to Kustomer.",
            )
        return _go_next(request, filters)
    return render(
        request,
        "classification/item.html",
        {
            "classification": classification,
            "conversation": classification.conversation,
            "transcript": conversation_transcript(conversation_id=classification.conversation_id),
            "reason": reason_label(
                QueueReason.AUDIT if classification.audit else classification.route_reason
            ),
            "form": form,
            "filters": filters,
            "queue_url": _with_query(reverse("classification:queue"), filters),
            "claim_minutes": CLAIM_MINUTES,
        },
    )


@require_GET
@reviewer_required
def quality(request: HttpRequest) -> HttpResponse:
    report = quality_report()
    audit_drift_check(agreement=report.audit)
    return render(request, "classification/quality.html", {"report": report})
