"""The ops leader's filters on the dashboards: date range and dimensions, from and to a query string."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.utils import timezone

DEFAULT_DAYS = 30
FILTER_DIMENSIONS = ("intent", "channel", "team", "agent")
LANGUAGE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class Filters:
    """What the ops leader narrowed the dashboards to; start and end days are inclusive."""

    start: date
    end: date
    intent: str = ""
    channel: str = ""
    team: str = ""
    agent: str = ""
    # The customer's language, from the current classification: not a rollup dimension, so it counts live.
    language: str = ""

    def as_query(self, **extra: str) -> dict[str, str]:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        query.update({name: getattr(self, name) for name in FILTER_DIMENSIONS if getattr(self, name)})
        if self.language:
            query["language"] = self.language
        query.update({k: v for k, v in extra.items() if v != ""})
        return query

    def url_query(self, **extra: str) -> str:
        return urlencode(self.as_query(**extra))

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time.min, tzinfo=UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC),
        )

    @property
    def dimensions(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTER_DIMENSIONS if getattr(self, name)}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(params: Mapping[str, str]) -> Filters:
    """Filters from a query string; bad or missing dates fall back to the last 30 days."""
    today = timezone.now().date()
    end = _day(params.get("end")) or today
    start = _day(params.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    # "-" (none) only means something in a drill-down link; on the dashboards it is no filter.
    values = {name: blank_value(str(params.get(name, "")).strip()[:64]) for name in FILTER_DIMENSIONS}
    language = str(params.get("language", "")).strip()
    return Filters(start=start, end=end, language=language if LANGUAGE.fullmatch(language) else "", **values)


def blank_value(value: str) -> str:
    """`-` in a drill-down link stands for "none" (an empty intent, team, ...)."""
    return "" if value == "-" else value


def drill_link(filters: Filters, **extra: str) -> str:
    return "?" + filters.url_query(**extra)
