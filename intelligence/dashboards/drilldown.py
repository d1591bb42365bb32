"""The conversations behind a dashboard figure (drill-downs), and their CSV rows."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils import timezone

from classification.models import Sentiment, TriageReview
from classification.selectors import triage_unreviewed
from kustomer.selectors import people_names

from .. import autoreplies
from ..metrics import EFFORT_BANDS
from ..models import ConversationAnalysis, ResolutionMethod, RootCause
from ..rollups import analyses_counted
from .filters import FILTER_DIMENSIONS, Filters, blank_value, filters_from
from .pages import BACKLOG_BANDS
from .panels import average, classified, in_language, intent_names, key_label, key_names

DRILL_LIMIT = 200
ROUTE_LABELS = {"auto": "auto-routed", "triage": "sent to triage"}
KUSTOMER_ID = "Kustomer id"


@dataclass
class DrillDown:
    title: str
    columns: list[str]
    rows: Iterable[list]  # a list on pages; a generator for the CSV download
    total: int
    empty: str = "The figure you came from may have changed since: go back to the dashboards and reload."

    @property
    def kustomer_column(self) -> int | None:
        """Which column holds the Kustomer id, to link each conversation to Kustomer."""
        return self.columns.index(KUSTOMER_ID) if KUSTOMER_ID in self.columns else None


def drilldown(params: Mapping[str, str], *, limit: int | None = DRILL_LIMIT) -> DrillDown:
    filters = filters_from(params)
    kind = params.get("list", "")
    if kind == "backlog":
        return _backlog_list(filters, params.get("age", ""), limit)
    if kind == "reviews":
        return _review_list(filters, params, limit)
    if kind == "autoreply":
        return _autoreply_list(filters, params, limit)
    return _analysis_list(params, limit)


def _analysis_list(params: Mapping[str, str], limit: int | None) -> DrillDown:
    filters = filters_from(params)
    low, high = filters.bounds
    analyses = analyses_counted().filter(
        resolved_at__gte=low,
        resolved_at__lt=high,
        **{name: blank_value(params[name]) for name in FILTER_DIMENSIONS if params.get(name)},
    )
    analyses = in_language(analyses, filters.language)
    described = []
    sentiment = params.get("sentiment", "")
    if sentiment == "-" or sentiment in Sentiment.values:
        sentiment = blank_value(sentiment)
        if sentiment:
            analyses = analyses.filter(conversation_id__in=classified(sentiment=sentiment))
        else:  # no classification, or one that did not say
            analyses = analyses.exclude(conversation_id__in=classified(sentiment__in=Sentiment.values))
        described.append(f"sentiment {Sentiment(sentiment).label.lower() if sentiment else 'not known'}")
    if params.get("route") in ROUTE_LABELS:
        analyses = analyses.filter(route=params["route"])
        described.append(ROUTE_LABELS[params["route"]])
    if params.get("root_cause"):
        key = blank_value(params["root_cause"])
        analyses = analyses.filter(root_cause__key=key)
        described.append(f"root cause {key_label(key_names(RootCause), key, 'none').lower()}")
    if params.get("method"):
        analyses = analyses.filter(resolution_method__key=params["method"])
        described.append(f"resolved by {key_label(key_names(ResolutionMethod), params['method']).lower()}")
    keys = [key for key, _, _ in EFFORT_BANDS]
    if params.get("band") in keys:
        index = keys.index(params["band"])
        _, label, upper = EFFORT_BANDS[index]
        if index > 0:
            analyses = analyses.filter(effort_score__gte=EFFORT_BANDS[index - 1][2])
        if index < len(EFFORT_BANDS) - 1:
            analyses = analyses.filter(effort_score__lt=upper)
        described.append(f"effort {label.lower()}")
    rows = analyses.select_related("conversation", "root_cause", "resolution_method").order_by(
        "-resolved_at", "-pk"
    )
    shown = rows[:limit] if limit else rows.iterator(chunk_size=2000)
    intents = intent_names()
    people = analyses.order_by()
    names = people_names(
        user_ids=people.values_list("agent", flat=True).distinct(),
        team_ids=people.values_list("team", flat=True).distinct(),
    )
    # Without a limit (the CSV download) the rows stay a generator: read as the file is written.
    table = (
        [
            a.resolved_at.strftime("%Y-%m-%d %H:%M"),
            a.conversation.name or a.conversation.kustomer_id,
            a.conversation.kustomer_id,
            key_label(intents, a.intent),
            a.channel,
            names[a.team].name if a.team else "",
            names[a.agent].name if a.agent else "",
            average(a.first_response_seconds or 0, 1 if a.first_response_seconds is not None else 0, 60),
            average(a.resolution_seconds or 0, 1 if a.resolution_seconds is not None else 0, 3600),
            a.transfers,
            a.reopens,
            a.effort_score,
            a.root_cause.name if a.root_cause else "",
            a.resolution_method.name if a.resolution_method else "",
            a.tone_score,
            a.accuracy_score,
            a.summary
            if a.extraction_status == ConversationAnalysis.Extraction.DONE
            else a.get_extraction_status_display(),
        ]
        for a in shown
    )
    return DrillDown(
        title="Resolved conversations" + (f": {', '.join(described)}" if described else ""),
        columns=[
            "Resolved",
            "Conversation",
            "Kustomer id",
            "Intent",
            "Channel",
            "Team",
            "Agent",
            "First response (min)",
            "Time to resolution (h)",
            "Transfers",
            "Reopens",
            "Effort",
            "Root cause",
            "Resolution method",
            "Tone",
            "Accuracy",
            "Summary",
        ],
        rows=list(table) if limit else table,
        total=rows.count(),
    )


def _backlog_list(filters: Filters, age: str, limit: int | None) -> DrillDown:
    now = timezone.now()
    waiting = triage_unreviewed().select_related("conversation", "intent")
    if filters.intent:
        waiting = waiting.filter(intent__key=filters.intent)
    if filters.language:
        waiting = waiting.filter(language=filters.language)
    band = next((b for b in BACKLOG_BANDS if b[0] == age), None)
    if band:
        if band[2]:
            waiting = waiting.filter(classified_at__lte=now - band[2])
        if band[3]:
            waiting = waiting.filter(classified_at__gt=now - band[3])
    waiting = waiting.order_by("classified_at", "pk")
    shown = waiting[:limit] if limit else waiting.iterator(chunk_size=2000)
    rows = (
        [
            c.classified_at.strftime("%Y-%m-%d %H:%M") if c.classified_at else "",
            c.conversation.name or c.conversation.kustomer_id,
            c.conversation.kustomer_id,
            c.intent.name if c.intent else "",
            c.confidence,
            c.route_reason,
        ]
        for c in shown
    )
    return DrillDown(
        title="Waiting for a reviewer" + (f": {band[1].lower()}" if band else ""),
        columns=["Classified", "Conversation", "Kustomer id", "AI intent", "Confidence", "Why in triage"],
        rows=list(rows) if limit else rows,
        total=waiting.count(),
    )


def _review_list(filters: Filters, params: Mapping[str, str], limit: int | None) -> DrillDown:
    low, high = filters.bounds
    reviews = TriageReview.objects.filter(created_at__gte=low, created_at__lt=high).select_related(
        "classification__conversation", "classification__intent", "intent", "reviewer"
    )
    if params.get("ai_intent"):
        reviews = reviews.filter(classification__intent__key=blank_value(params["ai_intent"]) or None)
    if filters.language:
        reviews = reviews.filter(classification__language=filters.language)
    if params.get("agreed") in ("0", "1"):
        reviews = reviews.filter(agreed=params["agreed"] == "1")
    reviews = reviews.order_by("-created_at", "-pk")
    shown = reviews[:limit] if limit else reviews.iterator(chunk_size=2000)
    rows = (
        [
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.classification.conversation.name or r.classification.conversation.kustomer_id,
            r.classification.conversation.kustomer_id,
            r.classification.intent.name if r.classification.intent else "",
            r.intent.name,
            "Agreed" if r.agreed else "Corrected",
            r.reviewer.get_username() if r.reviewer else "",
        ]
        for r in shown
    )
    return DrillDown(
        title="Triage reviews",
        columns=[
            "Reviewed",
            "Conversation",
            "Kustomer id",
            "AI intent",
            "Reviewer's intent",
            "Verdict",
            "Reviewer",
        ],
        rows=list(rows) if limit else rows,
        total=reviews.count(),
    )


def _autoreply_list(filters: Filters, params: Mapping[str, str], limit: int | None) -> DrillDown:
    decisions = autoreplies.decisions_for(
        *filters.bounds,
        intent=filters.intent,
        mode=params.get("ar_mode", ""),
        verdict=params.get("ar_verdict", ""),
        grade=params.get("ar_grade", ""),
    ).select_related("review")
    shown = decisions[:limit] if limit else decisions.iterator(chunk_size=2000)
    rows = (
        [
            d.created_at.strftime("%Y-%m-%d %H:%M"),
            d.conversation.name or d.conversation.kustomer_id,
            d.conversation.kustomer_id,
            f"{d.mode} / {d.verdict}{f' ({d.reason})' if d.reason else ''} / "
            + (d.review.grade if hasattr(d, "review") else autoreplies.NOT_GRADED),
        ]
        for d in shown
    )
    columns = ["Decided", "Conversation", "Kustomer id", "Mode, outcome, shadow approval"]
    return DrillDown(
        title="Auto-reply decisions",
        columns=columns,
        rows=list(rows) if limit else rows,
        total=decisions.count(),
    )
