"""Writes of the Kustomer app: receiving webhook events and turning them into the mirror."""

import json
import logging
import traceback
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit
from bearscope.redaction import secrets_redact
from bearscope.sweeps import SWEEP_BATCH

from . import signals
from .client import KustomerError, client_get
from .exceptions import EventProcessingFailed
from .models import Conversation, ConversationDispatch, CustomAttributeNames, Customer, Message, WebhookEvent
from .payloads import (
    HANDLED_EVENTS,
    as_datetime,
    as_dict,
    as_int,
    as_list,
    as_str,
    changed_custom_keys,
    event_conversation_id,
    json_clean,
    message_body_text,
    mirror_org,
    related_id,
    text_clean,
)

logger = logging.getLogger(__name__)

PROCESS_TASK = "kustomer.tasks.webhook_event_process"
MACHINE_USER_CACHE_KEY = "kustomer:machine_user_id"
OWN_USER = "change made by BearScope's own API user"
OWN_ATTRIBUTES_ONLY = "only BearScope's own custom attributes changed"
STORED_HEADERS = {
    "HTTP_X_KUSTOMER_WEBHOOK_EVENT": "X-Kustomer-Webhook-Event",
    "HTTP_USER_AGENT": "User-Agent",
    "CONTENT_TYPE": "Content-Type",
    "CONTENT_LENGTH": "Content-Length",
    "HTTP_X_REQUEST_ID": "X-Request-Id",
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "REMOTE_ADDR": "Remote-Addr",
}
# The machine user per (API host, API key), in this process: see _machine_user_known.
_machine_users: dict[tuple[str, str], str] = {}
MESSAGE_COUNT_LIMIT = 2**31 - 1  # a PositiveIntegerField on every database
Outcome = tuple[str, str]  # (status, reason)


def webhook_event_receive(
    *, envelope: Mapping[str, Any], body: bytes, meta: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
    """Store a verified event once and enqueue its processing; returns (event, created).

    The unique (org, event id) constraint decides duplicates, also for two concurrent
    deliveries: the loser's insert fails and it answers with the stored row.
    """
    org = as_str(envelope.get("org"), 64)
    event_id = envelope["id"]
    name = envelope["name"]
    data = as_dict(envelope.get("data"))
    handled = name in HANDLED_EVENTS
    echo = _echo_reason(name, envelope, data) if handled else ""
    fields = {
        "org": org,
        "event_id": event_id,
        "name": name,
        "resource_id": as_str(data.get("id"), 64),
        "conversation_id": event_conversation_id(name, data),
        "body": body.decode("utf-8").replace("\x00", ""),
        "headers": {label: as_str(meta[key], 512) for key, label in STORED_HEADERS.items() if meta.get(key)},
        "received_at": timezone.now(),
        "status": WebhookEvent.Status.RECEIVED if handled and not echo else WebhookEvent.Status.IGNORED,
        "reason": echo if handled else "event type not handled by BearScope",
    }
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(**fields)
            if event.status == WebhookEvent.Status.RECEIVED:
                enqueue_on_commit(PROCESS_TASK, event.pk, task_name=f"event-{event.pk}")
    except IntegrityError:
        return WebhookEvent.objects.get(org=org, event_id=event_id), False
    return event, True


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Apply one stored event to the mirror and fire dispatch points; safe to run twice.

    Ends the event `processed`, `ignored` (with the reason) or `failed` (with the error). A
    failure raises EventProcessingFailed, retryable while attempts remain.
    """
    # Asked before the transaction: it may call Kustomer, and row locks should not wait on HTTP.
    ours = machine_user_id()
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
            if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
                return event
            status, reason = _event_apply(event, ours)
            event.status, event.reason, event.error = status, reason[:255], ""
            event.attempts += 1
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "reason", "error", "attempts", "processed_at", "updated_at"])
            return event
    except WebhookEvent.DoesNotExist:
        raise
    except Exception as exc:
        WebhookEvent.objects.filter(pk=event_pk).update(
            status=WebhookEvent.Status.FAILED,
            error=secrets_redact(traceback.format_exc(limit=8))[-4000:],
            attempts=F("attempts") + 1,
            updated_at=timezone.now(),
        )
        attempts = WebhookEvent.objects.filter(pk=event_pk).values_list("attempts", flat=True).first() or 0
        retryable = attempts < settings.KUSTOMER_EVENT_MAX_ATTEMPTS
        logger.warning("Webhook event %s failed (attempt %s): %s", event_pk, attempts, exc)
        raise EventProcessingFailed(str(exc), retryable=retryable) from exc


def events_sweep(*, older_than: timedelta) -> list[int]:
    """Re-enqueue events stored but not processed after `older_than`: never picked up (a task lost with
    its worker or its broker) or failed with attempts left; returns their ids."""
    cutoff = timezone.now() - older_than
    stuck = list(
        WebhookEvent.objects.filter(
            Q(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
            | Q(
                status=WebhookEvent.Status.FAILED,
                attempts__lt=settings.KUSTOMER_EVENT_MAX_ATTEMPTS,
                updated_at__lt=cutoff,
            )
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(PROCESS_TASK, stuck, name="event")
    return stuck


def webhook_events_reprocess(*, events: Iterable[WebhookEvent]) -> int:
    """Put events back in the queue from the start (the admin's "reprocess" action)."""
    count = 0
    with transaction.atomic():
        for event in events:
            if event.name not in HANDLED_EVENTS:
                continue
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.RECEIVED,
                attempts=0,
                error="",
                reason="",
                updated_at=timezone.now(),
            )
            enqueue_on_commit(PROCESS_TASK, event.pk, task_name=f"event-{event.pk}")
            count += 1
    return count


def machine_user_id() -> str:
    """Our API key's user id: from settings, else asked of Kustomer once and cached."""
    known = _machine_user_known()
    if known or not settings.KUSTOMER_API_KEY:
        return known
    try:
        user_id = as_str(client_get().current_user_get().get("id"), 64)
    except KustomerError as exc:
        # Without it only the own-attribute filter guards against loops; try again next event.
        logger.warning("Could not discover the Kustomer machine user: %s", exc)
        return ""
    cache.set(MACHINE_USER_CACHE_KEY, user_id, timeout=None)
    _machine_users[_api_key_used()] = user_id
    return user_id


def machine_user_forget() -> None:
    """Ask Kustomer again on the next event (after a change of API key, and in tests)."""
    cache.delete(MACHINE_USER_CACHE_KEY)
    _machine_users.clear()


def _api_key_used() -> tuple[str, str]:
    return settings.KUSTOMER_API_BASE_URL, settings.KUSTOMER_API_KEY


def _machine_user_known() -> str:
    """The machine user without asking Kustomer: settings, this process's memo, the shared cache.

    Every event asks, so the memo saves a cache round trip per event; it is kept per API key.
    """
    if settings.KUSTOMER_MACHINE_USER_ID:
        return settings.KUSTOMER_MACHINE_USER_ID
    key = _api_key_used()
    if key not in _machine_users:
        cached = cache.get(MACHINE_USER_CACHE_KEY)
        if not cached:
            return ""
        _machine_users[key] = cached
    return _machine_users[key]


def _event_apply(event: WebhookEvent, ours: str) -> Outcome:
    envelope = json.loads(event.body)
    data = as_dict(envelope.get("data"))
    if not as_str(data.get("id")):
        return WebhookEvent.Status.IGNORED, "payload data has no id"
    author = related_id(data, "modifiedBy") or related_id(data, "createdBy")
    if ours and author == ours:
        return WebhookEvent.Status.IGNORED, OWN_USER
    kind = event.name.split(".")[1]
    if kind == "customer":
        return _customer_apply(data, mirror_org(data, event.org))
    if kind == "conversation":
        if _only_own_attributes_changed(envelope):
            return WebhookEvent.Status.IGNORED, OWN_ATTRIBUTES_ONLY
        return _conversation_apply(data, event)
    return _message_apply(data, event)


def _only_own_attributes_changed(envelope: Mapping[str, Any]) -> bool:
    touched = changed_custom_keys(envelope.get("changes"))
    if touched is None:
        return False  # decided from the payload alone: no settings read on the webhook request
    return touched <= CustomAttributeNames.load().names()


def _echo_reason(name: str, envelope: Mapping[str, Any], data: dict) -> str:
    """Why a conversation update is our own echo, when that is known without calling Kustomer.

    Every write-back comes back as such an update; storing it as ignored right away saves a
    queue round trip. Anything not recognised here is still filtered by processing.
    """
    if name != "kustomer.conversation.update":
        return ""
    ours = _machine_user_known()
    author = related_id(data, "modifiedBy") or related_id(data, "createdBy")
    if ours and author == ours:
        return OWN_USER
    return OWN_ATTRIBUTES_ONLY if _only_own_attributes_changed(envelope) else ""


def _is_stale(stored_rev: int | None, stored_at, rev: int | None, updated_at) -> bool:
    if stored_rev is not None and rev is not None:
        return rev < stored_rev
    if stored_at is not None and updated_at is not None:
        return updated_at < stored_at
    return False


def _customer_stub(org: str, kustomer_id: str) -> Customer | None:
    if not kustomer_id:
        return None
    return Customer.objects.get_or_create(org=org, kustomer_id=kustomer_id)[0]


def _customer_apply(data: dict, org: str) -> Outcome:
    attrs = as_dict(data.get("attributes"))
    customer = Customer.objects.select_for_update().get_or_create(
        org=org, kustomer_id=as_str(data["id"], 64)
    )[0]
    rev, updated_at = as_int(attrs.get("rev")), as_datetime(attrs.get("updatedAt"))
    if _is_stale(customer.rev, customer.kustomer_updated_at, rev, updated_at):
        return WebhookEvent.Status.IGNORED, f"stale update (rev {rev} older than stored {customer.rev})"
    customer_fill(customer=customer, data=data)
    return WebhookEvent.Status.PROCESSED, ""


def customer_fill(*, customer: Customer, data: dict) -> None:
    """Copy a customer resource (webhook data or API answer) onto the mirror row and save it."""
    attrs = as_dict(data.get("attributes"))
    rev, updated_at = as_int(attrs.get("rev")), as_datetime(attrs.get("updatedAt"))
    customer.name = as_str(attrs.get("name") or attrs.get("displayName"))
    customer.emails = [
        as_str(as_dict(e).get("email")).lower()
        for e in as_list(attrs.get("emails"))
        if as_dict(e).get("email")
    ]
    customer.external_id = as_str(attrs.get("externalId"))
    customer.rev, customer.kustomer_updated_at = rev, updated_at
    customer.attributes = json_clean(attrs)
    customer.save()


def _conversation_apply(data: dict, event: WebhookEvent) -> Outcome:
    attrs = as_dict(data.get("attributes"))
    conversation = Conversation.objects.select_for_update().get_or_create(
        org=mirror_org(data, event.org), kustomer_id=as_str(data["id"], 64)
    )[0]
    rev, updated_at = as_int(attrs.get("rev")), as_datetime(attrs.get("updatedAt"))
    if _is_stale(conversation.rev, conversation.kustomer_updated_at, rev, updated_at):
        return WebhookEvent.Status.IGNORED, f"stale update (rev {rev} older than stored {conversation.rev})"
    if conversation_fill(conversation=conversation, data=data):
        _dispatch(
            conversation,
            ConversationDispatch.Kind.RESOLVED,
            conversation.resolved_count,
            event,
            resolved_at=updated_at or event.received_at,
        )
    return WebhookEvent.Status.PROCESSED, ""


def conversation_fill(*, conversation: Conversation, data: dict) -> bool:
    """Copy a conversation resource onto the mirror row and save it; True when its status became done."""
    attrs = as_dict(data.get("attributes"))
    rev, updated_at = as_int(attrs.get("rev")), as_datetime(attrs.get("updatedAt"))
    previous_status = conversation.status
    customer = _customer_stub(conversation.org, related_id(data, "customer"))
    conversation.customer = customer or conversation.customer
    conversation.name = as_str(attrs.get("name"), 1024)
    conversation.status = as_str(attrs.get("status"), 16)
    priority = as_int(attrs.get("priority"))
    conversation.priority = priority if priority is not None and 1 <= priority <= 5 else None
    conversation.channels = [as_str(c, 32) for c in as_list(attrs.get("channels"))]
    conversation.assigned_users = [as_str(u, 64) for u in as_list(attrs.get("assignedUsers"))]
    conversation.assigned_teams = [as_str(t, 64) for t in as_list(attrs.get("assignedTeams"))]
    conversation.custom = json_clean(as_dict(attrs.get("custom")))
    conversation.default_lang = as_str(attrs.get("defaultLang"), 16)
    conversation.message_count = min(max(as_int(attrs.get("messageCount")) or 0, 0), MESSAGE_COUNT_LIMIT)
    conversation.kustomer_created_at = as_datetime(attrs.get("createdAt")) or conversation.kustomer_created_at
    conversation.rev, conversation.kustomer_updated_at = rev, updated_at
    conversation.attributes = json_clean(attrs)
    resolved_now = conversation.status == "done" and previous_status != "done"
    if resolved_now:
        conversation.resolved_count += 1
    conversation.save()
    return resolved_now


def _message_apply(data: dict, event: WebhookEvent) -> Outcome:
    attrs = as_dict(data.get("attributes"))
    conversation_id = related_id(data, "conversation")
    if not conversation_id:
        return WebhookEvent.Status.IGNORED, "message has no conversation"
    # Locking the conversation serialises its messages, so "first inbound" is decided once.
    conversation = Conversation.objects.select_for_update().get_or_create(
        org=mirror_org(data, event.org), kustomer_id=conversation_id
    )[0]
    # A new message is inserted whole (one statement, not insert then update): the conversation's
    # lock above keeps a second event for the same message from inserting it meanwhile.
    message = Message.objects.filter(org=conversation.org, kustomer_id=as_str(data["id"], 64)).first()
    new = message is None
    if message is None:
        message = Message(org=conversation.org, kustomer_id=as_str(data["id"], 64))
    rev, updated_at = as_int(attrs.get("rev")), as_datetime(attrs.get("updatedAt"))
    if _is_stale(message.rev, message.kustomer_updated_at, rev, updated_at):
        return WebhookEvent.Status.IGNORED, f"stale update (rev {rev} older than stored {message.rev})"
    message_fill(message=message, data=data, conversation=conversation)
    if message.direction != Message.Direction.IN:
        return WebhookEvent.Status.IGNORED, "outbound message: mirrored, no pipeline triggered"
    _dispatch(conversation, ConversationDispatch.Kind.NEEDS_CLASSIFICATION, 1, event)
    if new:
        signals.customer_message_received.send(
            sender=Message, conversation=conversation, message=message, event=event
        )
    return WebhookEvent.Status.PROCESSED, ""


def message_fill(*, message: Message, data: dict, conversation: Conversation) -> None:
    """Copy a message resource (webhook data or API list item) onto the mirror row and save it."""
    attrs = as_dict(data.get("attributes"))
    message.conversation = conversation
    message.customer = _customer_stub(conversation.org, related_id(data, "customer")) or message.customer
    if conversation.customer_id is None and message.customer_id:
        conversation.customer = message.customer
        conversation.save(update_fields=["customer", "updated_at"])
    direction = as_str(attrs.get("direction"), 8)
    message.direction = direction if direction in Message.Direction.values else ""
    message.channel = as_str(attrs.get("channel"), 32)
    message.subject = as_str(attrs.get("subject") or as_dict(attrs.get("meta")).get("subject"), 1024)
    message.body = text_clean(message_body_text(attrs))
    message.meta = json_clean(as_dict(attrs.get("meta")))
    message.created_by = related_id(data, "createdBy")
    message.sent_at = as_datetime(attrs.get("sentAt")) or as_datetime(attrs.get("createdAt"))
    message.kustomer_created_at = as_datetime(attrs.get("createdAt"))
    message.rev = as_int(attrs.get("rev"))
    message.kustomer_updated_at = as_datetime(attrs.get("updatedAt"))
    message.save()


def conversation_messages_complete(*, conversation: Conversation) -> int:
    """Fetch from Kustomer the messages of a conversation the mirror lacks; returns how many were added.

    Only missing ones are written: a mirrored message is at least as new as the API's list. Raises
    KustomerError when Kustomer cannot be asked.
    """
    added = 0
    for data in client_get().conversation_messages(conversation.kustomer_id):
        kustomer_id = as_str(as_dict(data).get("id"), 64)
        if not kustomer_id or Message.objects.filter(org=conversation.org, kustomer_id=kustomer_id).exists():
            continue
        with transaction.atomic():
            message, created = Message.objects.get_or_create(
                org=conversation.org, kustomer_id=kustomer_id, defaults={"conversation": conversation}
            )
            if created:
                message_fill(message=message, data=data, conversation=conversation)
                added += 1
    return added


DISPATCH_SIGNALS = {
    ConversationDispatch.Kind.NEEDS_CLASSIFICATION: signals.conversation_needs_classification,
    ConversationDispatch.Kind.RESOLVED: signals.conversation_resolved,
}


def _dispatch(
    conversation: Conversation, kind: str, occurrence: int, event: WebhookEvent, **details: Any
) -> bool:
    """Record the occurrence and tell receivers (with `details`), unless it was recorded before."""
    _, created = ConversationDispatch.objects.get_or_create(
        conversation=conversation, kind=kind, occurrence=occurrence, defaults={"event": event}
    )
    if created:
        DISPATCH_SIGNALS[kind].send(
            sender=Conversation, conversation=conversation, occurrence=occurrence, event=event, **details
        )
    return created
