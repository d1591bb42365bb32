"""The data check: the order a customer asks about, read from Kustomer, and whether it is theirs."""

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kustomer.client import KustomerClient
from kustomer.payloads import (
    customer_emails,
    kobject_created_at,
    kobject_customer_id,
    kobject_field,
    resource_id,
)

from .models import OrderMapping
from .reasons import BlockReason

# The classifier's order number is customer text: it only ever becomes a lookup key, and only when
# it looks like an order number (no slashes, queries or spaces to steer the request).
ORDER_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# Order facts go into replies to customers: a link only to https on an allowed host, every other
# value plain text of bounded length (no line breaks, markup or links to steer what is sent).
FACT_MAX_CHARS = 120
URL_MAX_CHARS = 2048
NOT_PLAIN = re.compile(r"[\x00-\x1f\x7f<>]|://|www\.", re.IGNORECASE)


@dataclass(frozen=True)
class OrderFacts:
    """What a reply may say about an order; every value comes from Kustomer's order record."""

    order_number: str | None
    order_status: str | None
    carrier: str | None
    tracking_url: str | None
    estimated_delivery: str | None
    raw_status: str | None = None
    kobject_id: str = ""

    def values(self) -> dict[str, str | None]:
        return {k: v for k, v in asdict(self).items() if k not in ("raw_status", "kobject_id")}


@dataclass(frozen=True)
class OrderCheck:
    """The data check's answer; `code` says why it failed (a BlockReason), `reason` in words."""

    passed: bool
    reason: str
    facts: OrderFacts | None = None
    code: str = ""
    # The order's email and the customer record it matched: the identity check reads them.
    email: str = ""
    customer: dict = field(default_factory=dict)


def _failed(code: BlockReason, why: str) -> OrderCheck:
    return OrderCheck(False, f"{code}: {why}", code=code)


def _text(value) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _date_words(value) -> str | None:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return _text(value)
    return f"{moment:%A} {moment.day} {moment:%B}"


def order_facts(kobject: dict, mapping: OrderMapping) -> OrderFacts:
    status = _text(kobject_field(kobject, mapping.field_status))
    labels = mapping.status_labels if isinstance(mapping.status_labels, dict) else {}
    return OrderFacts(
        order_number=_text(kobject_field(kobject, mapping.field_order_number)),
        order_status=(labels.get(status) or status.replace("_", " ")) if status else None,
        carrier=_text(kobject_field(kobject, mapping.field_carrier)),
        tracking_url=_text(kobject_field(kobject, mapping.field_tracking_url)),
        estimated_delivery=_date_words(kobject_field(kobject, mapping.field_estimated_delivery)),
        raw_status=status,
        kobject_id=resource_id(kobject),
    )


def _host_allowed(host: str, allowed: list[str]) -> bool:
    return not allowed or any(host == name or host.endswith("." + name) for name in allowed)


def facts_problem(facts: OrderFacts, mapping: OrderMapping) -> str:
    """Why these facts must not go into a reply, or "" when they may."""
    if facts.tracking_url is not None:
        parts = urlsplit(facts.tracking_url)
        host = (parts.hostname or "").rstrip(".")
        if len(facts.tracking_url) > URL_MAX_CHARS or parts.scheme != "https" or not host:
            return "the tracking link is not an https address"
        if parts.username or parts.password or not _host_allowed(host, mapping.tracking_host_list()):
            return f"the tracking link's host {host} is not one the order mapping allows"
    for name, value in facts.values().items():
        if name == "tracking_url" or value is None:
            continue
        if len(value) > FACT_MAX_CHARS:
            return f"the order's {name.replace('_', ' ')} is longer than {FACT_MAX_CHARS} characters"
        if NOT_PLAIN.search(value):
            return f"the order's {name.replace('_', ' ')} is not plain text"
    return ""


def order_check(
    *, client: KustomerClient, customer_id: str, order_number: str | None, mapping: OrderMapping
) -> OrderCheck:
    """The order exists in Kustomer and belongs to this customer (relationship and email)."""
    if not customer_id:
        return _failed(BlockReason.ORDER_NOT_FOUND, "the conversation has no customer")
    customer = client.customer_get(customer_id)
    emails = customer_emails(customer)
    number = str(order_number).strip() if order_number is not None else ""
    if number:
        if not ORDER_NUMBER.fullmatch(number):
            return _failed(BlockReason.ORDER_NOT_FOUND, "the order number is not in a known form")
        kobject = client.kobject_by_external_id(mapping.klass_name, number)
        if not kobject:
            return _failed(BlockReason.ORDER_NOT_FOUND, f"no order {number} in Kustomer")
    else:
        since = timezone.now() - timedelta(days=mapping.recent_days)
        recent = [
            k
            for k in client.customer_kobjects(customer_id, mapping.klass_name)
            if (kobject_created_at(k) or since) >= since
        ]
        if not recent:
            return _failed(BlockReason.ORDER_NOT_FOUND, "no order number given and no recent order")
        if len(recent) > 1:
            return _failed(
                BlockReason.ORDER_AMBIGUOUS, f"no order number given and {len(recent)} recent orders"
            )
        kobject = recent[0]
    owner = kobject_customer_id(kobject)
    if owner != customer_id:
        return _failed(BlockReason.ORDER_CUSTOMER_MISMATCH, "the order belongs to another customer")
    order_email = (_text(kobject_field(kobject, mapping.field_email)) or "").lower()
    if not order_email or order_email not in emails:
        return _failed(BlockReason.ORDER_CUSTOMER_MISMATCH, "the order's email is not the customer's")
    facts = order_facts(kobject, mapping)
    problem = facts_problem(facts, mapping)
    if problem:
        return _failed(BlockReason.ORDER_DATA_INVALID, problem)
    return OrderCheck(
        True, "the order exists and belongs to the customer", facts, email=order_email, customer=customer
    )
