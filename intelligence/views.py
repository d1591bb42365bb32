"""The ops leaders' dashboards, the conversations behind each figure, and CSV downloads."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from bearscope.access import permission_page_required
from bearscope.csvsafe import csv_lines

from .dashboards.drilldown import drilldown
from .dashboards.empty import panels_explain
from .dashboards.filters import FilterError, csv_filename, filters_from
from .dashboards.pages import PAGES, filter_choices
from .dashboards.panels import Panel

INSIGHTS_PERMISSION = "intelligence.view_insights"


ops_leader_required = permission_page_required(INSIGHTS_PERMISSION, "intelligence/403.html")


def _bad_range(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "intelligence/400.html", {"message": message}, status=400)


def filters_checked(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A date range the dashboards refuse becomes a 400 page that says why, not a server error."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except FilterError as exc:
            return _bad_range(request, str(exc))

    return wrapper


def _page(page: str) -> tuple[str, Callable]:
    try:
        return PAGES[page]
    except KeyError:
        raise Http404("No such dashboard.") from None


@require_GET
@ops_leader_required
@filters_checked
def dashboard(request: HttpRequest, page: str = "overview") -> HttpResponse:
    title, build = _page(page)
    filters = filters_from(request.GET)
    panels = build(filters)
    panels_explain(panels, filters)
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


def _csv_response(filename: str, columns: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    # Conversation names and summaries come from customers: csv_lines keeps formulas out.
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@ops_leader_required
@filters_checked
def panel_csv(request: HttpRequest, page: str, panel: str) -> StreamingHttpResponse:
    _, build = _page(page)
    filters = filters_from(request.GET)
    found: Panel | None = next((p for p in build(filters) if p.key == panel), None)
    if found is None:
        raise Http404("No such table on this dashboard.")
    return _csv_response(csv_filename(panel, filters), found.columns, found.rows)


@require_GET
@ops_leader_required
@filters_checked
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
@filters_checked
def conversations_csv(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request.GET)
    days = (filters.end - filters.start).days + 1
    if days > settings.INSIGHTS_CSV_MAX_DAYS:
        return _bad_range(
            request,
            f"A download covers at most {settings.INSIGHTS_CSV_MAX_DAYS} days; this range has {days}. "
            "Download it in parts.",
        )
    # The rows are read from the database as the file is written, never all at once.
    result = drilldown(request.GET, limit=None)
    filename = csv_filename("conversations", filters, request.GET)
    return _csv_response(filename, result.columns, result.rows)
