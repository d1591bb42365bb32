"""The backtest pages for ops leaders: the list, one report, two compared, and a report's rows as CSV."""

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from kustomer.models import Conversation

from ..models import Backtest
from ..views import _csv_response, ops_leader_required
from .pages import (
    EXPORT_COLUMNS,
    backtests_list,
    charts,
    comparison,
    export_rows,
    figures,
    intent_names,
    label_name,
)


@require_GET
@ops_leader_required
def backtest_list(request: HttpRequest) -> HttpResponse:
    backtests = list(backtests_list()[:200])
    return render(
        request,
        "intelligence/backtests/list.html",
        {
            "backtests": backtests,
            "done": [b for b in backtests if b.status == Backtest.Status.DONE],
            "history": Conversation.objects.exists(),
        },
    )


@require_GET
@ops_leader_required
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    backtest = get_object_or_404(Backtest, pk=pk)
    names = intent_names()
    report = backtest.report or {}
    per_intent = [{**row, "name": label_name(names, row["intent"])} for row in report.get("per_intent", [])]
    confused = [
        {
            **row,
            "label_name": label_name(names, row["label"]),
            "predicted_name": label_name(names, row["predicted"]),
        }
        for row in report.get("confused", [])
    ]
    others = list(backtests_list().filter(status=Backtest.Status.DONE).exclude(pk=pk)[:100])
    return render(
        request,
        "intelligence/backtests/detail.html",
        {
            "backtest": backtest,
            "report": report,
            "figures": figures(report) if report else [],
            "per_intent": per_intent,
            "confused": confused,
            "charts": charts(report, names) if report.get("labelled") else [],
            "others": others,
        },
    )


@require_GET
@ops_leader_required
def backtest_compare(request: HttpRequest) -> HttpResponse:
    try:
        first = get_object_or_404(Backtest, pk=int(request.GET.get("a", "")))
        second = get_object_or_404(Backtest, pk=int(request.GET.get("b", "")))
    except ValueError:
        raise Http404("Choose two backtests to compare.") from None
    return render(
        request,
        "intelligence/backtests/compare.html",
        {"first": first, "second": second, **comparison(first=first, second=second)},
    )


@require_GET
@ops_leader_required
def backtest_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    backtest = get_object_or_404(Backtest, pk=pk)
    return _csv_response(f"backtest_{backtest.pk}.csv", EXPORT_COLUMNS, export_rows(backtest=backtest))
