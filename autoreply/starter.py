"""Starter configurations: a taxonomy, a first auto-reply policy in shadow mode, the order mapping."""

from dataclasses import dataclass

from django.db import transaction

from bearscope.exceptions import BearScopeError
from classification.models import Intent
from classification.taxonomy import DEFAULT_TAXONOMY, taxonomy_load, taxonomy_read

from .models import (
    AutoReplyPolicy,
    AutoReplySettings,
    Mode,
    OrderMapping,
    ReplyTemplate,
    ReplyTemplateVariant,
)

WISMO_EMAIL = (
    "Hello,\n\n"
    "Thanks for asking about order {order_number}. It is {order_status} with {carrier} and should arrive "
    "by {estimated_delivery}.\n\n"
    "You can follow it here: {tracking_url}"
)
WISMO_CHAT = (
    "Order {order_number} is {order_status} with {carrier}, expected by {estimated_delivery}. "
    "Tracking: {tracking_url}"
)
STARTERS = {"ecommerce"}


class StarterError(BearScopeError, ValueError):
    """The starter asked for does not exist or cannot be loaded."""


@dataclass(frozen=True)
class StarterLoaded:
    """What a starter loaded, for the setup command to report."""

    counts: dict[str, int]
    policy: AutoReplyPolicy
    policy_created: bool

    def summary(self) -> list[str]:
        loaded = ", ".join(f"{n} {what.replace('_', '-')}" for what, n in self.counts.items())
        kept = "" if self.policy_created else " (kept as it was)"
        return [
            f"Loaded {loaded} from {DEFAULT_TAXONOMY.name}.",
            f"Auto-reply: switch on; policy {self.policy} is {self.policy.mode}{kept}, template "
            f"“{self.policy.template.name}”; orders are read from Klass `{OrderMapping.load().klass_name}`.",
        ]


@transaction.atomic
def starter_load(*, starter: str) -> StarterLoaded:
    """Load a starter; rows are created or updated by key and nothing else is touched.

    A policy that exists already keeps its mode and threshold: running setup again never switches
    a live intent back to shadow, nor a shadow one to live.
    """
    if starter not in STARTERS:
        raise StarterError(f"Unknown starter {starter!r}; available: {', '.join(sorted(STARTERS))}.")
    counts = taxonomy_load(data=taxonomy_read(DEFAULT_TAXONOMY))
    try:
        intent = Intent.objects.get(key="shipping_issue", parent=None)
        sub_intent = Intent.objects.get(key="status", parent=intent)
    except Intent.DoesNotExist as exc:
        raise StarterError("The taxonomy has no shipping_issue / status intent for WISMO.") from exc
    template, _ = ReplyTemplate.objects.update_or_create(
        key="wismo",
        defaults={
            "name": "Where is my order",
            "variables": "order_number, order_status, carrier, estimated_delivery, tracking_url",
            "subject": "Your order {order_number}",
            "body": WISMO_EMAIL,
        },
    )
    ReplyTemplateVariant.objects.update_or_create(
        template=template, channel="chat", defaults={"subject": "", "body": WISMO_CHAT}
    )
    policy, created = AutoReplyPolicy.objects.get_or_create(
        intent=intent,
        sub_intent=sub_intent,
        defaults={"mode": Mode.SHADOW, "template": template, "data_check": AutoReplyPolicy.DataCheck.ORDER},
    )
    mapping = OrderMapping.load()
    mapping.klass_name = "order"
    mapping.field_order_number = "externalId"
    mapping.field_status = "custom.statusStr"
    mapping.field_carrier = "custom.carrierStr"
    mapping.field_tracking_url = "custom.trackingUrl"
    mapping.field_estimated_delivery = "custom.estimatedDeliveryAt"
    mapping.field_email = "custom.emailStr"
    mapping.status_labels = mapping.status_labels or {
        "processing": "being prepared",
        "shipped": "shipped",
        "in_transit": "on its way",
        "delayed": "delayed",
        "delivered": "delivered",
    }
    mapping.save()
    config = AutoReplySettings.load()
    config.enabled = True
    config.save(update_fields=["enabled"])
    return StarterLoaded(counts=counts, policy=policy, policy_created=created)
