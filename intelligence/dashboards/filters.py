"""The ops leader's filters on the dashboards: date range and dimensions, from and to a query string."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.utils import timezone

from bearscope.exceptions import BearScopeError

DEFAULT_DAYS = 30
# Dates a dashboard accepts, and the longest range it adds up: beyond these a typo (year 20255)
# or a hand-edited link would make every panel scan the whole history.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
MAX_RANGE_DAYS = 3 * 366


_OUTSIDE = f"Dates must be between {FIRST_DAY.year} and {LAST_DAY.year}; {{value}} is not."


class FilterError(BearScopeError):
    """A date range the dashboards refuse; the message says what to change."""


FILTER_DIMENSIONS = ("intent", "channel", "team", "agent")
# Drill-down parameters that narrow a list, as they appear in a CSV file name.
DRILL_PARAMETERS = (
    "list", "route", "root_cause", "method", "band", "age", "ai_intent", "agreed", "ar_mode", "ar_verdict",
    "ar_grade",
)  # fmt: skip

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
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        if value[:1].isdigit() and len(value.split("-", 1)[0]) > 4:
            raise FilterError(_OUTSIDE.format(value=value[:20])) from None
        raise FilterError(f"{value[:20]} is not a date; write it as YYYY-MM-DD.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(_OUTSIDE.format(value=value))
    return day


def filters_from(params: Mapping[str, str]) -> Filters:
    """Filters from a query string; missing dates fall back to the last 30 days.

    Raises FilterError for an unreadable date, one outside 2000-2100, or a range over three years.
    """
    today = timezone.now().date()
    end = _day(params.get("end")) or today
    start = _day(params.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise FilterError("Choose a range of at most three years.")
    # "-" (none) only means something in a drill-down link; on the dashboards it is no filter.
    values = {name: blank_value(str(params.get(name, "")).strip()[:64]) for name in FILTER_DIMENSIONS}
    language = str(params.get("language", "")).strip()
    return Filters(start=start, end=end, language=language if LANGUAGE.fullmatch(language) else "", **values)


def blank_value(value: str) -> str:
    """`-` in a drill-down link stands for "none" (an empty intent, team, ...)."""
    return "" if value == "-" else value


def drill_link(filters: Filters, **extra: str) -> str:
    return "?" + filters.url_query(**extra)


def csv_filename(name: str, filters: Filters, params: Mapping[str, str] | None = None) -> str:
    """`name_start_end[_filter-value...].csv`: the file says which range and filters made it."""
    parts = [name, filters.start.isoformat(), filters.end.isoformat()]
    parts += [f"{key}-{value}" for key, value in filters.dimensions.items()]
    parts += [f"{key}-{params[key]}" for key in DRILL_PARAMETERS if params and params.get(key)]
    # Only what every file system and the Content-Disposition header take as it is.
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts))[:180] + ".csv"
