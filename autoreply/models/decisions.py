"""Auto-reply decisions, the replies sent, escalations to a person, and shadow reviews."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bearscope.models import TimeStampedModel

from .policies import AutoReplyPolicy
from .settings import Mode


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
