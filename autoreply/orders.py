"""The data check: the order a customer asks about, read from Kustomer, and whether it is theirs."""

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kustomer.client import KustomerClient
from kustomer.payloads import as_dict, related_id

from .models import OrderMapping

# The classifier's order number is customer text: it only ever becomes a lookup key, and only when
# it looks like an order number (no slashes, queries or spaces to steer the request).
ORDER_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

ORDER_NOT_FOUND = "order_not_found"
ORDER_CUSTOMER_MISMATCH = "order_customer_mismatch"
ORDER_AMBIGUOUS = "order_ambiguous"


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
    passed: bool
    reason: str
    facts: OrderFacts | None = None


def field_value(kobject: dict, path: str):
    """A KObject field by the mapping's path (`externalId`, `custom.statusStr`) under its attributes."""
    value = as_dict(kobject.get("attributes"))
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


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
    status = _text(field_value(kobject, mapping.field_status))
    labels = mapping.status_labels if isinstance(mapping.status_labels, dict) else {}
    return OrderFacts(
        order_number=_text(field_value(kobject, mapping.field_order_number)),
        order_status=(labels.get(status) or status.replace("_", " ")) if status else None,
        carrier=_text(field_value(kobject, mapping.field_carrier)),
        tracking_url=_text(field_value(kobject, mapping.field_tracking_url)),
        estimated_delivery=_date_words(field_value(kobject, mapping.field_estimated_delivery)),
        raw_status=status,
        kobject_id=str(kobject.get("id") or ""),
    )


def _created(kobject: dict) -> datetime | None:
    created = as_dict(kobject.get("attributes")).get("createdAt")
    return parse_datetime(created) if isinstance(created, str) else None


def order_check(
    *, client: KustomerClient, customer_id: str, order_number: str | None, mapping: OrderMapping
) -> OrderCheck:
    """The order exists in Kustomer and belongs to this customer (relationship and email)."""
    if not customer_id:
        return OrderCheck(False, f"{ORDER_NOT_FOUND}: the conversation has no customer")
    customer = client.customer_get(customer_id)
    emails = {
        str(as_dict(e).get("email") or "").strip().lower()
        for e in as_dict(customer.get("attributes")).get("emails") or []
        if isinstance(e, dict)
    } - {""}
    number = str(order_number).strip() if order_number is not None else ""
    if number:
        if not ORDER_NUMBER.fullmatch(number):
            return OrderCheck(False, f"{ORDER_NOT_FOUND}: the order number is not in a known form")
        kobject = client.kobject_by_external_id(mapping.klass_name, number)
        if not kobject:
            return OrderCheck(False, f"{ORDER_NOT_FOUND}: no order {number} in Kustomer")
    else:
        since = timezone.now() - timedelta(days=mapping.recent_days)
        recent = [
            k
            for k in client.customer_kobjects(customer_id, mapping.klass_name)
            if (_created(k) or since) >= since
        ]
        if not recent:
            return OrderCheck(False, f"{ORDER_NOT_FOUND}: no order number given and no recent order")
        if len(recent) > 1:
            return OrderCheck(
                False, f"{ORDER_AMBIGUOUS}: no order number given and {len(recent)} recent orders"
            )
        kobject = recent[0]
    owner = related_id(kobject, "customer")
    if owner != customer_id:
        return OrderCheck(False, f"{ORDER_CUSTOMER_MISMATCH}: the order belongs to another customer")
    order_email = (_text(field_value(kobject, mapping.field_email)) or "").lower()
    if not order_email or order_email not in emails:
        return OrderCheck(False, f"{ORDER_CUSTOMER_MISMATCH}: the order's email is not the customer's")
    return OrderCheck(True, "the order exists and belongs to the customer", order_facts(kobject, mapping))
