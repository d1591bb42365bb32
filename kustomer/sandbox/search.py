"""Search (POST /v1/customers/search): date and status criteria, sorting, the two-year window (a mixin)."""

import copy
import operator
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from . import resources
from .errors import bad_request
from .routing import LARGE_PAGE_SIZE, paginate

# Kustomer's search only sees objects updated in the last two years.
SEARCH_WINDOW = timedelta(days=730)
CONTEXTS = ("conversation", "customer", "message")
DATE_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}
Test = Callable[[dict[str, Any]], bool]


def when(value: Any, pointer: str) -> datetime:
    """An ISO 8601 timestamp with a timezone, or a YYYY-MM-DD date (midnight UTC, as without a timeZone)."""
    try:
        if isinstance(value, str) and len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return resources.parse_iso(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise bad_request("Dates must be ISO 8601 with a timezone, or YYYY-MM-DD.", pointer) from exc


def attribute(context: str, field: str, pointer: str) -> str:
    """The attribute a search field names: the sandbox knows the dates, and a conversation's status."""
    fields = {f"{context}_updated_at": "updatedAt", f"{context}_created_at": "createdAt"}
    if context == "conversation":
        fields["conversation_status"] = "status"
    if field not in fields:
        raise bad_request(
            f"The sandbox searches {context}s by {', '.join(sorted(fields))} only, not {field}.",
            pointer,
            code="invalid_parameter",
        )
    return fields[field]


def criterion(context: str, raw: Any, pointer: str) -> Test:
    """One {"<field>": {"<operator>": value}} criterion as a test of a resource."""
    if not (isinstance(raw, dict) and len(raw) == 1 and isinstance(next(iter(raw.values())), dict)):
        raise bad_request('A criterion is {"<field>": {"<operator>": value}}.', pointer)
    ((field, condition),) = raw.items()
    name = attribute(context, field, pointer)
    tests: list[Test] = []
    for op, value in condition.items():
        if name == "status" and op in ("equals", "in"):
            wanted = value if op == "in" and isinstance(value, list) else [value]
            tests.append(lambda item, wanted=wanted: item["attributes"]["status"] in wanted)
        elif name != "status" and op in DATE_OPERATORS:
            bound, compare = when(value, f"{pointer}/{field}/{op}"), DATE_OPERATORS[op]
            tests.append(
                lambda item, bound=bound, compare=compare: compare(
                    resources.parse_iso(item["attributes"][name]), bound
                )
            )
        else:
            raise bad_request(
                f"The sandbox does not support {op} on {field}.", pointer, code="invalid_parameter"
            )
    return lambda item: all(test(item) for test in tests)


def query_tests(body: Any) -> tuple[str, Test, list[tuple[str, bool]]]:
    """The context, the combined test of `and` and `or`, and the sort keys (attribute, descending)."""
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object.")
    context = body.get("queryContext")
    if context not in CONTEXTS:
        raise bad_request(f"queryContext must be one of {', '.join(CONTEXTS)} here.", "/queryContext")
    groups: dict[str, list[Test]] = {}
    for group in ("and", "or"):
        raw = body.get(group, [])
        if not isinstance(raw, list):
            raise bad_request(f"{group} must be a list of criteria.", f"/{group}")
        groups[group] = [criterion(context, item, f"/{group}/{i}") for i, item in enumerate(raw)]

    def test(item: dict[str, Any]) -> bool:
        return all(t(item) for t in groups["and"]) and (
            not groups["or"] or any(t(item) for t in groups["or"])
        )

    sort = body.get("sort", [{f"{context}_updated_at": "desc"}])
    if not isinstance(sort, list) or not all(
        isinstance(s, dict) and len(s) == 1 and next(iter(s.values())) in ("asc", "desc") for s in sort
    ):
        raise bad_request('sort is a list of {"<field>": "asc" | "desc"}.', "/sort")
    keys = [
        (attribute(context, field, f"/sort/{i}"), direction == "desc")
        for i, entry in enumerate(sort)
        for field, direction in entry.items()
    ]
    return context, test, keys


class SearchMixin:
    """Uses SandboxState's lock and data; every public method takes the lock itself."""

    def _searchable(self, context: str) -> list[dict[str, Any]]:
        if context == "conversation":
            return list(self.conversations.values())
        if context == "customer":
            return list(self.customers.values())
        return [message for messages in self.messages.values() for message in messages]

    def search(self, body: Any, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """A page of matches, ties in id order; pages past `search_page_cap` are empty."""
        context, test, keys = query_tests(body)
        oldest = datetime.now(UTC) - SEARCH_WINDOW
        with self.lock:
            found = [
                item
                for item in self._searchable(context)
                if resources.parse_iso(item["attributes"]["updatedAt"]) >= oldest and test(item)
            ]
            found.sort(key=lambda item: item["id"])
            # Stable sorts from the last key to the first give a multi-key order with per-key directions.
            for name, descending in reversed(keys):
                found.sort(key=lambda item, name=name: item["attributes"][name], reverse=descending)
            return copy.deepcopy(paginate(found, path, query, LARGE_PAGE_SIZE, self.search_page_cap))
