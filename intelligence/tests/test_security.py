"""Security findings on the dashboards: date ranges refused with a clear 400, the CSV streamed and bounded."""

import csv
import io
import types
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from intelligence.dashboards.drilldown import drilldown

from .factories import AnalysisFactory, ops_leader

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader_client(client):
    client.force_login(ops_leader())
    return client


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("intelligence:overview", []),
        ("intelligence:dashboard", ["agents"]),
        ("intelligence:conversations", []),
        ("intelligence:conversations_csv", []),
        ("intelligence:panel_csv", ["agents", "agents"]),
    ],
)
@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start": "1999-12-31", "end": "2000-01-10"}, "between 2000 and 2100"),
        ({"start": "2101-01-01"}, "between 2000 and 2100"),
        ({"end": "20255-01-01"}, "between 2000 and 2100"),
        ({"start": "2001-01-01", "end": "2010-01-01"}, "at most three years"),
        ({"start": "yesterday"}, "write it as YYYY-MM-DD"),
    ],
)
def test_dates_outside_the_century_or_a_range_over_three_years_get_a_clear_400(
    leader_client, name, args, query, says
):
    response = leader_client.get(reverse(name, args=args), query)
    assert response.status_code == 400
    assert says in response.content.decode()


def test_three_years_exactly_is_accepted(leader_client):
    response = leader_client.get(
        reverse("intelligence:overview"), {"start": "2020-01-01", "end": "2022-12-31"}
    )
    assert response.status_code == 200


def test_the_conversations_csv_refuses_a_range_above_the_limit(leader_client, settings):
    settings.INSIGHTS_CSV_MAX_DAYS = 31
    response = leader_client.get(
        reverse("intelligence:conversations_csv"), {"start": "2024-01-01", "end": "2024-02-15"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "at most 31 days" in page
    assert "this range has 46" in page
    ok = leader_client.get(
        reverse("intelligence:conversations_csv"), {"start": "2024-01-01", "end": "2024-01-31"}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize("kind", ["", "backlog", "reviews", "autoreply"])
def test_the_csv_rows_are_a_generator_read_from_the_database_as_the_file_is_written(kind):
    assert isinstance(drilldown({"list": kind}, limit=None).rows, types.GeneratorType)
    assert isinstance(drilldown({"list": kind}).rows, list)


def test_the_streamed_csv_has_every_row_and_neutralises_customer_text(leader_client):
    yesterday = timezone.now() - timedelta(days=1)
    AnalysisFactory.create_batch(5, resolved_at=yesterday, agent="ana")
    AnalysisFactory(resolved_at=yesterday, agent="ana", conversation__name="\uff1dcmd|'/C calc'!A0")
    response = leader_client.get(reverse("intelligence:conversations_csv"), {"agent": "ana"})
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 6
    assert "'\uff1dcmd|'/C calc'!A0" in {row[1] for row in rows[1:]}
