"""Kustomer's search (POST /v1/customers/search) for the history import: a part of KustomerClient."""

from datetime import datetime

from .exceptions import KustomerError

# Assumption: a query answers no page past about this one (a public tap treats page 101 as the end).
SEARCH_PAGE_CAP = 100


def search_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, as Kustomer writes its own times."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def search_continue(*, cursor: datetime, page: int, last_seen: datetime | None) -> tuple[datetime, int]:
    """Assumption: a query stops paging after about SEARCH_PAGE_CAP pages, so a range is read in windows.

    Where the next query starts after a full page whose newest conversation was updated at
    `last_seen`: a new window from that `updatedAt` (those seen again are already there). Only when
    a whole page shares the cursor's time does it page on within the same window.
    """
    if last_seen is not None and last_seen > cursor:
        return last_seen, 1
    if page >= SEARCH_PAGE_CAP:
        raise KustomerError(
            f"More than {SEARCH_PAGE_CAP} pages of conversations updated at the same moment "
            f"({search_time(cursor)}): Kustomer's search cannot page past them."
        )
    return cursor, page + 1


class SearchMixin:
    """Search endpoints of KustomerClient (which provides `request`)."""

    def conversations_search(
        self, *, updated_from: datetime, updated_to: datetime, page: int = 1, page_size: int = 100
    ) -> dict:
        """One page of conversations updated in [updated_from, updated_to], oldest update first.

        Kustomer answers JSON:API with `meta.total`; search by API key has its own budget (100 a
        minute) on top of the org's, and a 429 beyond it is retried like any other.
        """
        body = {
            "and": [
                {"conversation_updated_at": {"gte": search_time(updated_from)}},
                {"conversation_updated_at": {"lte": search_time(updated_to)}},
            ],
            "sort": [{"conversation_updated_at": "asc"}],
            "queryContext": "conversation",
        }
        params = {"page": page, "pageSize": page_size}
        return self.request("POST", "/v1/customers/search", json=body, params=params)
