"""Auto-reply settings and the order data mapping: the rows ops leaders edit in the admin."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from bearscope.models import SingletonModel

UNIT_INTERVAL = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


LANGUAGE_CODE = RegexValidator(r"^[a-z]{2}\Z", "Two lowercase letters: an ISO 639-1 code such as en or es.")


DEFAULT_ESCALATION_LINE = (
    "If this does not answer your question, just reply to this message and a member of our team "
    "will pick up your conversation personally."
)


class Mode(models.TextChoices):
    OFF = "off", "Off"
    SHADOW = "shadow", "Shadow (record only, send nothing)"
    DRAFT = "draft", "Draft (stage a reply for an agent)"
    LIVE = "live", "Live (send)"


class AutoReplySettings(SingletonModel):
    """One row (pk 1): the global switch, the escalation line, the readiness bar, channel support."""

    enabled = models.BooleanField(
        default=False, help_text="Off: no conversation is auto-replied, whatever the policies say."
    )
    escalation_line = models.TextField(
        default=DEFAULT_ESCALATION_LINE,
        help_text="Appended to every reply: how the customer reaches a person.",
    )
    channels = models.CharField(
        max_length=255,
        default="email,chat",
        help_text="Channels auto-replies may use, comma-separated (Kustomer channel names).",
    )
    claimed_identity_channels = models.CharField(
        max_length=255,
        default="chat,sms",
        blank=True,
        verbose_name="channels where identity is only claimed",
        help_text="Comma-separated. On these channels anyone can type any email, so an order is spoken of "
        "only when the customer's matching email (or phone, on SMS) is verified in Kustomer.",
    )
    shadow_note = models.BooleanField(
        default=False,
        verbose_name="internal note in shadow mode",
        help_text="In shadow mode, also add the reply it would have sent as an internal note in Kustomer.",
    )
    block_negative_sentiment = models.BooleanField(
        default=True,
        verbose_name="a person answers upset customers",
        help_text="No auto-reply when the customer's message reads as negative (angry, frustrated): "
        "it waits for an agent.",
    )
    readiness_min_graded = models.PositiveIntegerField(
        default=50,
        help_text="Graded shadow replies an intent needs (since its template last changed) before it may go "
        "live.",
    )
    readiness_min_approval = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.900"),
        validators=UNIT_INTERVAL,
        verbose_name="readiness bar (approval at least, with 95% confidence)",
        help_text="The Wilson lower bound (95%) of the share of graded shadow replies rated “good as is” "
        "must reach this before an intent may go live: at 0.90, 50 good of 50 passes, 49 of 50 does not.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "auto-reply settings"

    def __str__(self) -> str:
        return "Auto-reply settings"

    def channel_list(self) -> list[str]:
        return [c.strip().lower() for c in self.channels.split(",") if c.strip()]

    def claimed_identity_list(self) -> list[str]:
        return [c.strip().lower() for c in self.claimed_identity_channels.split(",") if c.strip()]


class OrderMapping(SingletonModel):
    """One row (pk 1): where the tenant keeps orders in Kustomer (a Klass) and which fields say what.

    Field paths are read from the KObject's attributes: `externalId`, or `custom.<name>`.
    """

    klass_name = models.CharField(max_length=128, default="order", help_text="The Klass of order KObjects.")
    field_order_number = models.CharField(max_length=128, default="externalId")
    field_status = models.CharField(max_length=128, default="custom.statusStr")
    field_carrier = models.CharField(max_length=128, default="custom.carrierStr")
    field_tracking_url = models.CharField(max_length=128, default="custom.trackingUrl")
    field_estimated_delivery = models.CharField(max_length=128, default="custom.estimatedDeliveryAt")
    field_email = models.CharField(
        max_length=128,
        default="custom.emailStr",
        help_text="The order's email; must be one of the customer's.",
    )
    tracking_hosts = models.CharField(
        max_length=512,
        blank=True,
        default="",
        help_text="Hosts a tracking link may point to, comma-separated (ups.com also allows www.ups.com); "
        "empty: any https host. Other links are never put in a reply.",
    )
    recent_days = models.PositiveIntegerField(
        default=30,
        help_text="Without an order number, the customer's only order created within this many days is used.",
    )
    status_labels = models.JSONField(
        default=dict,
        blank=True,
        help_text='Words for status values in replies, e.g. {"in_transit": "on its way"}; others are shown '
        "with underscores as spaces.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "order data mapping"

    def __str__(self) -> str:
        return f"Orders in Klass {self.klass_name}"

    def tracking_host_list(self) -> list[str]:
        return [h.strip().lower().rstrip(".") for h in self.tracking_hosts.split(",") if h.strip()]
