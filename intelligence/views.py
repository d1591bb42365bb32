"""The ops leaders' dashboards, the conversations behind each figure, and CSV downloads."""

import csv
from collections.abc import Callable, Iterable

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from bearscope.access import permission_page_required

from .dashboards.drilldown import drilldown
from .dashboards.filters import filters_from
from .dashboards.pages import PAGES, filter_choices
from .dashboards.panels import Panel

INSIGHTS_PERMISSION = "intelligence.view_insights"


ops_leader_required = permission_page_required(INSIGHTS_PERMISSION, "intelligence/403.html")


def _page(page: str) -> tuple[str, Callable]:
    try:
        return PAGES[page]
    except KeyError:
        raise Http404("No such dashboard.") from None


@require_GET
@ops_leader_required
def dashboard(request: HttpRequest, page: str = "overview") -> HttpResponse:
    title, build = _page(page)
    filters = filters_from(request.GET)
    panels = build(filters)
    return render(
        request,
        "intelligence/dashboard.html",
        {
            "page": page,
            "title": title,
            "pages": [(key, name) for key, (name, _) in PAGES.items()],
            "filters": filters,
            "query": filters.url_query(),
            "choices": filter_choices(filters),
            "panels": panels,
            "charts": [(panel.key, panel.chart_data()) for panel in panels if panel.chart and panel.rows],
            "drill_url": reverse("intelligence:conversations"),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str | int | float:
    if value is None:
        return ""
    # Conversation names come from customers: keep spreadsheets from reading them as formulas.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _csv_response(filename: str, columns: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(columns)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@ops_leader_required
def panel_csv(request: HttpRequest, page: str, panel: str) -> StreamingHttpResponse:
    _, build = _page(page)
    filters = filters_from(request.GET)
    found: Panel | None = next((p for p in build(filters) if p.key == panel), None)
    if found is None:
        raise Http404("No such table on this dashboard.")
    filename = f"{panel}_{filters.start.isoformat()}_{filters.end.isoformat()}.csv"
    return _csv_response(filename, found.columns, found.rows)


@require_GET
@ops_leader_required
def conversations(request: HttpRequest) -> HttpResponse:
    result = drilldown(request.GET)
    params = request.GET.copy()
    back = filters_from(request.GET)
    return render(
        request,
        "intelligence/conversations.html",
        {
            "result": result,
            "query": params.urlencode(),
            "back_query": back.url_query(),
            "pages": [(key, name) for key, (name, _) in PAGES.items()],
        },
    )


@require_GET
@ops_leader_required
def conversations_csv(request: HttpRequest) -> StreamingHttpResponse:
    result = drilldown(request.GET, limit=None)
    return _csv_response("conversations.csv", result.columns, result.rows)
