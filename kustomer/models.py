"""Webhook events as received, the mirror of customers, conversations and messages, and our attributes."""

from django.db import models
from django.db.models import Q

from bearscope.models import SingletonModel, TimeStampedModel

from .attributes import DEFAULTS, OWN_ATTRIBUTES


class WebhookEvent(TimeStampedModel):
    """One webhook delivery, stored raw before it is acknowledged, processed once."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    org = models.CharField(max_length=64, blank=True, default="")
    event_id = models.CharField(max_length=128)
    name = models.CharField(max_length=128, db_index=True)
    resource_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    conversation_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    body = models.TextField(help_text="The request body exactly as received.")
    headers = models.JSONField(default=dict, help_text="Selected request headers.")
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status, default=Status.RECEIVED)
    reason = models.CharField(max_length=255, blank=True, default="", help_text="Why it was ignored.")
    error = models.TextField(blank=True, default="", help_text="The last processing error.")
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "event_id"], name="webhookevent_unique_org_event"),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="webhookevent_status_received")]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id}"


class Customer(TimeStampedModel):
    """A Kustomer customer, as last seen."""

    org = models.CharField(
        max_length=64, blank=True, default="", help_text="The Kustomer org it belongs to (mirror_org)."
    )
    kustomer_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True, default="")
    emails = models.JSONField(default=list, blank=True)
    external_id = models.CharField(max_length=255, blank=True, default="")
    rev = models.BigIntegerField(null=True, blank=True)
    kustomer_updated_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kustomer_id", "org"], name="customer_unique_id_org")]

    def __str__(self) -> str:
        return self.name or self.kustomer_id


class Conversation(TimeStampedModel):
    """A Kustomer conversation, as last seen (stale updates are dropped by rev/updatedAt)."""

    org = models.CharField(
        max_length=64, blank=True, default="", help_text="The Kustomer org it belongs to (mirror_org)."
    )
    kustomer_id = models.CharField(max_length=64)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    name = models.CharField(max_length=1024, blank=True, default="")
    status = models.CharField(max_length=16, blank=True, default="", db_index=True)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    channels = models.JSONField(default=list, blank=True)
    assigned_users = models.JSONField(default=list, blank=True)
    assigned_teams = models.JSONField(default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    default_lang = models.CharField(max_length=16, blank=True, default="")
    message_count = models.PositiveIntegerField(default=0)
    kustomer_created_at = models.DateTimeField(null=True, blank=True, db_index=True)
    kustomer_updated_at = models.DateTimeField(null=True, blank=True)
    rev = models.BigIntegerField(null=True, blank=True)
    resolved_count = models.PositiveIntegerField(
        default=0, help_text="How many times the status became done."
    )
    attributes = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the history import copied it (no pipeline ran on it); empty when it came by webhook.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kustomer_id", "org"], name="conversation_unique_id_org")
        ]

    def __str__(self) -> str:
        return self.name or self.kustomer_id


class Message(TimeStampedModel):
    """A message on a conversation, inbound (customer) or outbound (agent or us)."""

    class Direction(models.TextChoices):
        IN = "in", "Inbound"
        OUT = "out", "Outbound"

    org = models.CharField(
        max_length=64, blank=True, default="", help_text="The Kustomer org it belongs to (mirror_org)."
    )
    kustomer_id = models.CharField(max_length=64)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    direction = models.CharField(max_length=8, choices=Direction, blank=True, default="")
    channel = models.CharField(max_length=32, blank=True, default="")
    subject = models.CharField(max_length=1024, blank=True, default="")
    body = models.TextField(blank=True, default="")
    meta = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    kustomer_created_at = models.DateTimeField(null=True, blank=True)
    kustomer_updated_at = models.DateTimeField(null=True, blank=True)
    rev = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kustomer_id", "org"], name="message_unique_id_org")]
        indexes = [models.Index(fields=["conversation", "sent_at"], name="message_conversation_sent")]

    def __str__(self) -> str:
        return f"{self.direction} {self.kustomer_id}"


class ConversationDispatch(TimeStampedModel):
    """That a pipeline dispatch point fired for a conversation, once per occurrence."""

    class Kind(models.TextChoices):
        NEEDS_CLASSIFICATION = "needs_classification", "Needs classification"
        RESOLVED = "resolved", "Resolved"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="dispatches")
    kind = models.CharField(max_length=32, choices=Kind)
    occurrence = models.PositiveIntegerField(
        default=1, help_text="1 for the first time; a reopened conversation resolves again as 2, 3, ..."
    )
    event = models.ForeignKey(WebhookEvent, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "kind", "occurrence"], name="dispatch_unique_occurrence"
            ),
        ]


class RateWindow(models.Model):
    """Requests made to Kustomer in one minute, shared by every process (database budget)."""

    window = models.BigIntegerField(unique=True, help_text="Unix minute.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(count__gte=0), name="ratewindow_count_nonneg")]

    def __str__(self) -> str:
        return f"minute {self.window}: {self.count}"


def _name_field(field: str) -> models.CharField:
    attribute = next(a for a in OWN_ATTRIBUTES if a.field == field)
    return models.CharField(
        max_length=64,
        default=DEFAULTS[field],
        help_text=f"{attribute.display_name}; written by {attribute.written_by}.",
    )


class CustomAttributeNames(SingletonModel):
    """One row (pk 1): the names of the conversation custom attributes BearScope writes.

    An update touching only these is our own write-back echoing, and is ignored.
    """

    intent = _name_field("intent")
    sub_intent = _name_field("sub_intent")
    priority = _name_field("priority")
    complexity = _name_field("complexity")
    confidence = _name_field("confidence")
    route = _name_field("route")
    classified_at = _name_field("classified_at")
    language = _name_field("language")
    sentiment = _name_field("sentiment")
    reviewed = _name_field("reviewed")
    escalated = _name_field("escalated")

    class Meta:
        verbose_name = verbose_name_plural = "custom attribute names"

    def __str__(self) -> str:
        return "Custom attribute names"

    def names(self) -> set[str]:
        return {getattr(self, attribute.field) for attribute in OWN_ATTRIBUTES}


# --- Users and teams (kustomer/people.py), the admin's Connection page (kustomer/connection.py) ---


class Agent(TimeStampedModel):
    """A Kustomer user (an agent, or a system or machine user), mirrored so pages show names, not ids."""

    kustomer_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    display_name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    user_type = models.CharField(
        max_length=16, blank=True, default="", help_text="user (an agent), system or machine."
    )
    synced_at = models.DateTimeField(help_text="When a sync last found it in Kustomer.")

    class Meta:
        ordering = ["name", "kustomer_id"]

    def __str__(self) -> str:
        return self.name or self.display_name or self.kustomer_id


class Team(TimeStampedModel):
    """A Kustomer team, mirrored so pages show its name, not its id."""

    kustomer_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    display_name = models.CharField(max_length=255, blank=True, default="")
    synced_at = models.DateTimeField(help_text="When a sync last found it in Kustomer.")

    class Meta:
        ordering = ["name", "kustomer_id"]

    def __str__(self) -> str:
        return self.name or self.display_name or self.kustomer_id


class Connection(models.Model):
    """No table: the admin's Kustomer > Connection page, whose checks run live against Kustomer."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = verbose_name_plural = "connection"

    def __str__(self) -> str:
        return "Connection to Kustomer"


class ImportRun(TimeStampedModel):
    """One history import (kustomer_import or the admin): its range, where it stands, what it copied."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped (start it again to resume)"
        FAILED = "failed", "Failed (start it again to resume)"
        DONE = "done", "Done"

    since = models.DateField(help_text="First day of conversations updated (UTC).")
    until = models.DateField(null=True, blank=True, help_text="Last day (UTC); empty: up to when it began.")
    ends_at = models.DateTimeField(help_text="The end of the range as searched.")
    budget_share = models.FloatField(
        default=0.5, help_text="Largest share of the org's Kustomer budget it uses."
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED, db_index=True)
    cursor = models.DateTimeField(
        null=True, blank=True, help_text="Conversations updated from here on are still to copy."
    )
    page = models.PositiveIntegerField(default=1, help_text="Search page from the cursor (past ties).")
    found = models.PositiveIntegerField(
        null=True, blank=True, help_text="Conversations in the range at start."
    )
    conversations_imported = models.PositiveIntegerField(default=0)
    conversations_updated = models.PositiveIntegerField(default=0)
    conversations_present = models.PositiveIntegerField(default=0, help_text="Already there, unchanged.")
    messages_imported = models.PositiveIntegerField(default=0)
    messages_present = models.PositiveIntegerField(default=0)
    customers_imported = models.PositiveIntegerField(default=0)
    customers_present = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(
        default=0, help_text="Requests made to Kustomer, retries included."
    )
    started_by = models.CharField(max_length=150, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress saved.")
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "history import"
        verbose_name_plural = "history imports"
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_share__gt=0, budget_share__lte=1), name="importrun_share_range"
            ),
        ]

    def __str__(self) -> str:
        end = self.until.isoformat() if self.until else self.ends_at.date().isoformat()
        return f"History import {self.since.isoformat()} to {end}"
