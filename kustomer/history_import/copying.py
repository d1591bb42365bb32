"""The import itself: search page by page, copy each conversation with its messages and customer, no signals.

Nothing here fires the pipelines' signals or writes a ConversationDispatch: imported conversations
are history. A later live event on one (a new message, a reopening) is processed like any other.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..client import KustomerClient, client_sharing
from ..client_search import search_continue
from ..exceptions import (
    KustomerAuthError,
    KustomerBudgetExhausted,
    KustomerConnectionError,
    KustomerError,
    KustomerNotFound,
    KustomerRateLimited,
    KustomerServerError,
)
from ..models import Conversation, Customer, ImportRun, Message
from ..payloads import (
    mirror_org,
    related_id,
    resource_id,
    resource_rev,
    resource_updated_at,
    search_results,
    search_total,
)
from ..services import conversation_fill, customer_fill, message_fill
from .runs import ImportRefused, range_bounds

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
# Refusals (429 past the client's retries, 5xx, no connection) waited out in a row before giving up.
PATIENCE = 8
LONGEST_PAUSE = 60.0
TRANSIENT = (KustomerRateLimited, KustomerServerError, KustomerConnectionError, KustomerBudgetExhausted)
COUNTERS = (
    "conversations_imported",
    "conversations_updated",
    "conversations_present",
    "messages_imported",
    "messages_present",
    "customers_imported",
    "customers_present",
)


@dataclass
class Copier:
    """Copies into the mirror for one run; `met` holds customers counted in this process already."""

    run: ImportRun
    client: KustomerClient
    requests_before: int = 0
    # Conversations updated exactly when a search starts were counted when the previous one ended.
    boundary: datetime | None = None
    met: set[str] = field(default_factory=set)

    def patiently(self, call: Callable[[], Any]) -> Any:
        """`call()`, waiting out a storm of refusals with growing pauses; raises after PATIENCE of them."""
        for attempt in range(PATIENCE + 1):
            try:
                return call()
            except TRANSIENT as exc:
                if attempt == PATIENCE:
                    raise
                pause = min(LONGEST_PAUSE, settings.KUSTOMER_BACKOFF_BASE_SECONDS * 4 * 2**attempt)
                logger.info("History import: %s; going on in %.1f s", exc, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def conversation(self, resource: dict) -> bool:
        """Copy one conversation found by search unless the mirror has it as new or newer; False when
        this run had already counted it (seen again at a window's edge or after a resume)."""
        kustomer_id, org = resource_id(resource), mirror_org(resource)
        stored = Conversation.objects.filter(org=org, kustomer_id=kustomer_id).first()
        if stored is not None and (
            stored.imported_at is None
            or not _newer(stored, resource_rev(resource), resource_updated_at(resource))
        ):
            # Came by webhook (the live pipeline owns it), or unchanged since it was imported.
            by_this_run = stored.imported_at is not None and stored.imported_at >= self.run.created_at
            if by_this_run or resource_updated_at(resource) == self.boundary:
                return False
            with transaction.atomic():
                self.advance(resource)
                self.count(conversations_present=1, messages_present=stored.messages.count())
                if stored.customer is not None and stored.customer.kustomer_id not in self.met:
                    self.met.add(stored.customer.kustomer_id)
                    self.count(customers_present=int(stored.customer.created_at < self.run.created_at))
                self.save()
            return True
        customer_id = related_id(resource, "customer")
        customer_data = self.customer_data(org, customer_id)
        try:
            messages = self.patiently(lambda: list(self.client.conversation_messages(kustomer_id)))
        except KustomerNotFound:
            return False  # deleted since the search answered
        with transaction.atomic():
            self.advance(resource)
            if customer_data is not None:
                customer = Customer.objects.select_for_update().get_or_create(
                    org=org, kustomer_id=customer_id
                )[0]
                customer_fill(customer=customer, data=customer_data)
                self.count(customers_imported=1)
            elif customer_id and customer_id not in self.met:
                before = Customer.objects.filter(
                    org=org, kustomer_id=customer_id, created_at__lt=self.run.created_at
                )
                self.count(customers_present=int(before.exists()))
            conversation = Conversation.objects.select_for_update().get_or_create(
                org=org, kustomer_id=kustomer_id
            )[0]
            conversation_fill(conversation=conversation, data=resource)
            if conversation.imported_at is None:
                conversation.imported_at = timezone.now()
                conversation.save(update_fields=["imported_at", "updated_at"])
            added = self.messages(conversation, messages)
            kind = "conversations_imported" if stored is None else "conversations_updated"
            self.count(**{kind: 1}, messages_imported=added, messages_present=len(messages) - added)
            self.save()
        if customer_id:
            self.met.add(customer_id)
        return True

    def customer_data(self, org: str, customer_id: str) -> dict | None:
        """The customer's record from Kustomer when the mirror lacks it (or holds only its id)."""
        if not customer_id or customer_id in self.met:
            return None
        known = Customer.objects.filter(org=org, kustomer_id=customer_id).first()
        if known is not None and known.kustomer_updated_at is not None:
            return None
        try:
            return self.patiently(lambda: self.client.customer_get(customer_id))
        except KustomerNotFound:
            return None

    def messages(self, conversation: Conversation, messages: list[dict]) -> int:
        added = 0
        for data in messages:
            message_id = resource_id(data)
            if not message_id:
                continue
            message, created = Message.objects.get_or_create(
                org=conversation.org, kustomer_id=message_id, defaults={"conversation": conversation}
            )
            if created:
                message_fill(message=message, data=data, conversation=conversation)
                added += 1
        return added

    def advance(self, resource: dict) -> None:
        """Resume after this conversation: a new search starts at its update (pages come in update order)."""
        updated_at = resource_updated_at(resource)
        if updated_at is not None and updated_at > self.run.cursor:
            self.run.cursor, self.run.page = updated_at, 1

    def count(self, **increments: int) -> None:
        for name, value in increments.items():
            setattr(self.run, name, getattr(self.run, name) + value)

    def save(self) -> None:
        self.run.requests = self.requests_before + self.client.budget.spent
        self.run.heartbeat_at = timezone.now()
        fields = [*COUNTERS, "requests", "heartbeat_at", "found", "updated_at"]
        ImportRun.objects.filter(pk=self.run.pk).update(
            **{name: getattr(self.run, name) for name in fields if name != "updated_at"},
            updated_at=timezone.now(),
            cursor=self.run.cursor,
            page=self.run.page,
        )

    def stop_requested(self) -> bool:
        status = ImportRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        return status != ImportRun.Status.RUNNING


def history_import_run(
    *,
    run: ImportRun,
    deadline: float | None = None,
    limit: int | None = None,
    on_conversation: Callable[[ImportRun], None] | None = None,
    client: KustomerClient | None = None,
) -> ImportRun:
    """Go on with a claimed run from its cursor; returns it done, stopped, or still running.

    Once `deadline` (time.monotonic()) has passed it returns the run still running, for the next
    slice; after `limit` conversations, or when the admin stopped it, it ends stopped. The cursor
    moves with each conversation copied, in the same transaction, so a resumed run starts where the
    last one ended (what it copied is not counted twice). A Kustomer error leaves it failed (and
    raises ImportRefused): everything copied stays, and starting it again resumes from the cursor.
    """
    copier = Copier(run=run, client=client or client_sharing(run.budget_share), requests_before=run.requests)
    query_from, query_page = run.cursor, run.page
    start = range_bounds(since=run.since, until=run.until)[0]
    handled = 0
    try:
        while True:
            copier.boundary = query_from if query_page == 1 and query_from != start else None
            payload = copier.patiently(
                lambda start=query_from, page=query_page: copier.client.conversations_search(
                    updated_from=start, updated_to=run.ends_at, page=page, page_size=PAGE_SIZE
                )
            )
            if run.found is None:
                run.found = search_total(payload)
            found = search_results(payload)
            for resource in found:
                if copier.conversation(resource):
                    handled += 1
                    if on_conversation is not None:
                        on_conversation(run)
                if copier.stop_requested() or (limit is not None and handled >= limit):
                    return _finish(copier, ImportRun.Status.STOPPED)
                if deadline is not None and time.monotonic() >= deadline:
                    copier.save()
                    return run
            if len(found) < PAGE_SIZE:
                # A short (or empty) page is the query's last: everything up to the range's end is in.
                return _finish(copier, ImportRun.Status.DONE)
            last_seen = max(filter(None, (resource_updated_at(r) for r in found)), default=None)
            query_from, query_page = search_continue(cursor=query_from, page=query_page, last_seen=last_seen)
            run.cursor, run.page = query_from, query_page
            copier.save()
    except KustomerError as exc:
        _finish(copier, ImportRun.Status.FAILED, error=_readable(exc))
        raise ImportRefused(run.error) from exc
    except BaseException:
        # Ctrl-C or a killed slice: what is committed stays, and the next start resumes from the cursor.
        _finish(copier, ImportRun.Status.STOPPED)
        raise


def _newer(stored: Conversation, rev: int | None, updated_at) -> bool:
    if stored.rev is not None and rev is not None:
        return rev > stored.rev
    return updated_at is not None and (
        stored.kustomer_updated_at is None or updated_at > stored.kustomer_updated_at
    )


def _finish(copier: Copier, status: str, *, error: str = "") -> ImportRun:
    run = copier.run
    copier.save()
    run.status, run.error = status, error
    run.finished_at = timezone.now() if status == ImportRun.Status.DONE else None
    current = ImportRun.objects.filter(pk=run.pk)
    if status != ImportRun.Status.DONE:
        # An admin's stop stays a stop; only a running run takes the new status.
        current = current.filter(status=ImportRun.Status.RUNNING)
    current.update(status=status, error=error, finished_at=run.finished_at, updated_at=timezone.now())
    run.refresh_from_db()
    return run


def _readable(exc: KustomerError) -> str:
    if isinstance(exc, KustomerAuthError):
        return (
            f"Kustomer refused the API key: {exc}. Check KUSTOMER_API_KEY and its roles "
            "(conversation, message and customer read, search); then start the import again to resume."
        )
    return f"Kustomer: {exc}. Start the import again to resume where it stopped."
