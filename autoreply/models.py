"""Auto-reply configuration (switch, policies, templates, order mapping), decisions, replies, reviews."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from bearscope.models import SingletonModel, TimeStampedModel

from .rendering import TemplateError, template_check

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


class ReplyTemplate(TimeStampedModel):
    """A reply with {variable} placeholders; only declared variables may appear."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    variables = models.CharField(
        max_length=255,
        blank=True,
        help_text="The variables this template uses, comma-separated. Available: order_number, order_status, "
        "carrier, tracking_url, estimated_delivery.",
    )
    subject = models.CharField(max_length=255, blank=True, help_text="Email subject; may use variables.")
    body = models.TextField(help_text="The reply; the escalation line is added after it.")
    language = models.CharField(
        max_length=2,
        default="en",
        validators=[LANGUAGE_CODE],
        help_text="The language of the subject and body above (ISO 639-1, e.g. en); customers whose "
        "language is unknown get this one.",
    )
    changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When its wording (or a version of it) last changed; readiness counts grades of replies "
        "made since then.",
    )

    def __str__(self) -> str:
        return self.name

    def variable_list(self) -> list[str]:
        return [v.strip() for v in self.variables.split(",") if v.strip()]

    def clean(self) -> None:
        try:
            template_check("", declared=self.variable_list())
        except TemplateError as exc:
            raise ValidationError({"variables": str(exc)}) from exc
        errors = {}
        for field in ("subject", "body"):
            try:
                template_check(getattr(self, field), declared=self.variable_list())
            except TemplateError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


class ReplyTemplateVariant(models.Model):
    """A template's version for one channel (e.g. a short chat reply); other channels use the default."""

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="variants")
    channel = models.CharField(max_length=32, help_text="Kustomer channel name, e.g. chat, sms, email.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "channel"], name="replytemplatevariant_unique_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.channel})"

    def clean(self) -> None:
        try:
            template = self.template  # in the admin, the template being saved with its new variables
        except ReplyTemplate.DoesNotExist:
            return
        errors = {}
        for field in ("subject", "body"):
            try:
                template_check(getattr(self, field), declared=template.variable_list())
            except TemplateError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


class ReplyTemplateVersion(models.Model):
    """A template in another language: customers writing in it get this subject and body."""

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(
        max_length=2, validators=[LANGUAGE_CODE], help_text="ISO 639-1, e.g. es, fr, de."
    )
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="replytemplateversion_unique_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.language})"

    def clean(self) -> None:
        try:
            template = self.template  # in the admin, the template being saved with its new variables
        except ReplyTemplate.DoesNotExist:
            return
        errors = {}
        if self.language and self.language == template.language:
            errors["language"] = f"{self.language} is the template's own language: edit the template instead."
        for field in ("subject", "body"):
            try:
                template_check(getattr(self, field), declared=template.variable_list())
            except TemplateError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


class AutoReplyPolicy(TimeStampedModel):
    """Whether and how an intent (or one of its sub-intents) is auto-replied."""

    class DataCheck(models.TextChoices):
        NONE = "none", "None"
        ORDER = "order", "Order belongs to the customer"

    intent = models.ForeignKey(
        "classification.Intent",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": True},
    )
    sub_intent = models.ForeignKey(
        "classification.Intent",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": False},
        help_text="Empty: every sub-intent of the intent (a sub-intent's own policy wins).",
    )
    mode = models.CharField(max_length=8, choices=Mode, default=Mode.OFF)
    threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        validators=UNIT_INTERVAL,
        help_text="Classification confidence at or above which a reply may go out.",
    )
    template = models.ForeignKey(ReplyTemplate, on_delete=models.PROTECT, related_name="policies")
    data_check = models.CharField(max_length=8, choices=DataCheck, default=DataCheck.ORDER)
    template_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the policy last switched to another template; readiness counts grades made since.",
    )

    class Meta:
        verbose_name_plural = "auto-reply policies"
        constraints = [
            models.UniqueConstraint(
                fields=["intent"], condition=Q(sub_intent__isnull=True), name="policy_unique_intent"
            ),
            models.UniqueConstraint(fields=["intent", "sub_intent"], name="policy_unique_sub_intent"),
        ]

    def __str__(self) -> str:
        return f"{self.intent.key} / {self.sub_intent.key}" if self.sub_intent_id else self.intent.key

    def clean(self) -> None:
        if self.sub_intent_id and self.intent_id and self.sub_intent.parent_id != self.intent_id:
            raise ValidationError({"sub_intent": "The sub-intent must belong to the intent."})


class PolicyAudit(TimeStampedModel):
    """A change of a policy's mode or threshold: who, from what to what, why, and readiness then."""

    policy = models.ForeignKey(AutoReplyPolicy, on_delete=models.CASCADE, related_name="audits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=150, help_text="The user, or the command that made the change.")
    mode_before = models.CharField(max_length=8, blank=True)
    mode_after = models.CharField(max_length=8)
    threshold_before = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    threshold_after = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    readiness = models.JSONField(default=dict, help_text="The readiness figures at the time.")
    override_reason = models.TextField(blank=True, help_text="Why live was allowed below the readiness bar.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.mode_before or '-'} → {self.mode_after}"


class AutoReplyDecision(TimeStampedModel):
    """What the guardrail chain decided for one classification (or its review), every check with verdict
    and reason."""

    class Verdict(models.TextChoices):
        REPLY = "reply", "Reply"
        BLOCKED = "blocked", "Blocked"

    classification = models.ForeignKey(
        "classification.Classification", on_delete=models.CASCADE, related_name="autoreply_decisions"
    )
    triage_review = models.OneToOneField(
        "classification.TriageReview",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="autoreply_decision",
        help_text="Set when the chain ran again on a reviewer's confirmation or correction.",
    )
    conversation = models.ForeignKey(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="autoreply_decisions"
    )
    policy = models.ForeignKey(AutoReplyPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    mode = models.CharField(max_length=8, choices=Mode, default=Mode.OFF)
    verdict = models.CharField(max_length=8, choices=Verdict)
    reason = models.CharField(max_length=64, blank=True, help_text="The first check that blocked.")
    checks = models.JSONField(default=list, help_text="[{check, passed, reason}] in the order run.")
    channel = models.CharField(max_length=32, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True, help_text="The reply as rendered (sent, staged or only recorded).")
    order = models.JSONField(default=dict, blank=True, help_text="The order data the reply used.")
    note_id = models.CharField(max_length=64, blank=True, help_text="The shadow note in Kustomer, if any.")

    class Meta:
        permissions = [("review_reply", "Can review shadow replies")]
        indexes = [models.Index(fields=["mode", "verdict", "created_at"], name="decision_mode_verdict")]
        constraints = [
            # One decision per classification as classified, and one more per review of it.
            models.UniqueConstraint(
                fields=["classification"],
                condition=Q(triage_review__isnull=True),
                name="decision_one_per_classification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation}: {self.verdict} ({self.reason or self.mode})"


class AutoReply(TimeStampedModel):
    """The one reply BearScope may send or stage on a conversation, with its delivery state."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        STAGED = "staged", "Staged as a draft"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (reconciling)"

    conversation = models.OneToOneField(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="auto_reply"
    )
    decision = models.OneToOneField(AutoReplyDecision, on_delete=models.CASCADE, related_name="reply")
    mode = models.CharField(max_length=8, choices=Mode)
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    channel = models.CharField(max_length=32)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    draft_id = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "auto-replies"
        indexes = [models.Index(fields=["state", "updated_at"], name="autoreply_state")]

    def __str__(self) -> str:
        return f"{self.conversation}: {self.state}"


class Escalation(TimeStampedModel):
    """A customer wrote again after an auto-reply: the conversation is flagged for a person."""

    conversation = models.OneToOneField(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="autoreply_escalation"
    )
    message_id = models.CharField(max_length=64, help_text="The customer's message that escalated it.")
    flagged = models.BooleanField(default=False, help_text="The custom attribute is written.")
    note_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"escalation of {self.conversation}"


class ShadowReview(TimeStampedModel):
    """A reviewer's grade of a shadow reply."""

    class Grade(models.TextChoices):
        GOOD = "good", "Good as is"
        WRONG_INTENT = "wrong_intent", "Wrong intent"
        WRONG_DATA = "wrong_data", "Wrong data"
        TONE = "tone", "Tone"
        OTHER = "other", "Other"

    decision = models.OneToOneField(AutoReplyDecision, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    grade = models.CharField(max_length=16, choices=Grade)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.grade} for {self.decision_id}"
