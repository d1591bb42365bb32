"""Root-cause and resolution taxonomies, one analysis per resolution, and the daily rollups."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from bearscope.models import SingletonModel, TimeStampedModel


def insights_model_default() -> str:
    return settings.INSIGHTS_MODEL_ID


class InsightsSettings(SingletonModel):
    """One row (pk 1): the model that reads resolved conversations."""

    model_id = models.CharField(
        max_length=64,
        default=insights_model_default,
        verbose_name="Claude model",
        help_text="Reads the whole resolved thread and judges root cause, resolution and the agent's "
        "accuracy and tone: a longer, harder reading than routing, so a larger model by default. "
        "Its price per token is shown above.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "insights settings"

    def __str__(self) -> str:
        return "Insights settings"


class TaxonomyEntry(TimeStampedModel):
    key = models.SlugField(max_length=64, unique=True, help_text="Stable identifier Claude answers with.")
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True, help_text="What belongs here; Claude reads it.")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name


class RootCause(TaxonomyEntry):
    """Why the customer had to get in touch (product defect, shipping delay, ...)."""


class ResolutionMethod(TaxonomyEntry):
    """How the team resolved it (refund, replacement, information provided, ...)."""


class AgentPolicy(TimeStampedModel):
    """A policy statement agents' answers are checked against (the accuracy indicator)."""

    text = models.TextField(help_text="One policy in plain words, e.g. refunds within 30 days of delivery.")
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "agent policies"

    def __str__(self) -> str:
        return self.text[:80]


class ConversationAnalysis(TimeStampedModel):
    """The analysis of one resolution of a conversation; a reopened one resolves again as occurrence 2, 3, ...

    Filter dimensions (intent, channel, team, agent) are copied here so dashboards read one table.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for the quiet period"
        DONE = "done", "Computed"

    class Extraction(models.TextChoices):
        PENDING = "pending", "Pending"
        WAITING_KEY = "waiting_key", "Waiting for a Claude key"
        SUBMITTED = "submitted", "In a batch"
        DONE = "done", "Extracted"
        INVALID = "invalid", "Invalid answer (flagged)"
        FAILED = "failed", "Failed (will retry)"

    conversation = models.ForeignKey(
        "kustomer.Conversation", on_delete=models.CASCADE, related_name="analyses"
    )
    occurrence = models.PositiveIntegerField(default=1, help_text="Which resolution this is: 1, 2, ...")
    current = models.BooleanField(default=True, help_text="The latest resolution's analysis.")
    status = models.CharField(max_length=16, choices=Status, default=Status.WAITING)
    due_at = models.DateTimeField(help_text="End of the quiet period: late events settle before analysis.")
    resolved_at = models.DateTimeField(db_index=True)
    analysed_at = models.DateTimeField(null=True, blank=True)

    intent = models.CharField(max_length=64, blank=True, help_text="The reviewed intent, else the AI's.")
    route = models.CharField(max_length=16, blank=True, help_text="auto or triage.")
    channel = models.CharField(max_length=32, blank=True)
    team = models.CharField(max_length=64, blank=True)
    agent = models.CharField(max_length=64, blank=True)

    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    customer_messages = models.PositiveIntegerField(default=0)
    agent_messages = models.PositiveIntegerField(default=0)
    transfers = models.PositiveIntegerField(default=0)
    reopens = models.PositiveIntegerField(default=0)
    customer_wait_seconds = models.PositiveIntegerField(default=0)
    auto_reply_involved = models.BooleanField(default=False)
    effort_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    messages_fetched = models.PositiveIntegerField(
        default=0, help_text="Messages missing from the mirror, fetched from Kustomer for this analysis."
    )

    extraction_status = models.CharField(max_length=16, choices=Extraction, default=Extraction.PENDING)
    root_cause = models.ForeignKey(RootCause, null=True, blank=True, on_delete=models.SET_NULL)
    resolution_method = models.ForeignKey(ResolutionMethod, null=True, blank=True, on_delete=models.SET_NULL)
    accuracy_score = models.PositiveSmallIntegerField(null=True, blank=True)
    accuracy_evidence = models.TextField(blank=True)
    tone_score = models.PositiveSmallIntegerField(null=True, blank=True)
    tone_evidence = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    extraction_error = models.TextField(blank=True)
    extraction_attempts = models.PositiveSmallIntegerField(default=0)
    extraction_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took the extraction; a stale start is taken again."
    )
    batch_id = models.CharField(max_length=64, blank=True)
    model_id = models.CharField(max_length=64, blank=True)
    prompt_version = models.ForeignKey(
        "bearscope.PromptVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prompt_input = models.TextField(blank=True, help_text="The thread as the model saw it (redacted).")
    raw_output = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, default=Decimal("0"))
    extracted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "conversation analyses"
        permissions = [("view_insights", "Can view the insight dashboards")]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "occurrence"], name="analysis_unique_occurrence"),
            models.CheckConstraint(
                condition=Q(accuracy_score__isnull=True) | Q(accuracy_score__gte=1, accuracy_score__lte=5),
                name="analysis_accuracy_1_5",
            ),
            models.CheckConstraint(
                condition=Q(tone_score__isnull=True) | Q(tone_score__gte=1, tone_score__lte=5),
                name="analysis_tone_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="analysis_due"),
            models.Index(fields=["extraction_status", "updated_at"], name="analysis_extraction"),
            # Drill-downs and filtered reads: newest first within a window, per dimension.
            models.Index(fields=["current", "resolved_at"], name="analysis_window"),
            models.Index(fields=["agent", "resolved_at"], name="analysis_agent_window"),
            models.Index(fields=["intent", "resolved_at"], name="analysis_intent_window"),
            models.Index(fields=["updated_at"], name="analysis_updated"),
        ]

    def __str__(self) -> str:
        return f"analysis {self.conversation_id} #{self.occurrence}"


class DailyRollup(models.Model):
    """Totals of current analyses per resolution day, at one of three grains.

    `intent` rows group by intent only (read when no channel or team is chosen); `segment` rows by
    intent, channel and team; `agent` rows by team and agent. Unused dimensions are empty. Rebuilt
    for changed days by a schedule; dashboards sum these rows instead of reading every analysis.
    Breakdowns are {key: count} maps summed in Python.
    """

    class Grain(models.TextChoices):
        INTENT = "intent", "Intent"
        SEGMENT = "segment", "Intent, channel, team"
        AGENT = "agent", "Team, agent"

    grain = models.CharField(max_length=8, choices=Grain)
    day = models.DateField()
    intent = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    team = models.CharField(max_length=64, blank=True)
    agent = models.CharField(max_length=64, blank=True)
    conversations = models.PositiveIntegerField(default=0)
    auto_routed = models.PositiveIntegerField(default=0)
    triaged = models.PositiveIntegerField(default=0)
    auto_replied = models.PositiveIntegerField(default=0)
    first_response_sum = models.BigIntegerField(default=0)
    first_response_count = models.PositiveIntegerField(default=0)
    resolution_sum = models.BigIntegerField(default=0)
    resolution_count = models.PositiveIntegerField(default=0)
    effort_sum = models.DecimalField(max_digits=14, decimal_places=1, default=Decimal("0"))
    effort_count = models.PositiveIntegerField(default=0)
    tone_sum = models.PositiveIntegerField(default=0)
    tone_count = models.PositiveIntegerField(default=0)
    accuracy_sum = models.PositiveIntegerField(default=0)
    accuracy_count = models.PositiveIntegerField(default=0)
    root_causes = models.JSONField(default=dict)
    resolution_methods = models.JSONField(default=dict)
    effort_bands = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "intent", "channel", "team", "agent"], name="rollup_unique_cell"
            ),
        ]
        indexes = [models.Index(fields=["grain", "day"], name="rollup_grain_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.intent}/{self.channel}/{self.team}/{self.agent}"


class AgreementRollup(models.Model):
    """Triage reviews per review day and AI intent, and how many kept the AI's intent and sub-intent.

    The agreement panel sums these rows for past days instead of reading every review; rebuilt for
    the days of new reviews by the same schedule as DailyRollup.
    """

    day = models.DateField()
    intent = models.ForeignKey(
        "classification.Intent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The AI's intent of the reviewed classification; empty: none.",
    )
    reviewed = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "intent"], name="agreement_rollup_unique_cell")]

    def __str__(self) -> str:
        return f"{self.day} {self.intent_id}: {self.agreed}/{self.reviewed}"


class SentimentRollup(models.Model):
    """Current computed analyses per resolution day, intent and the customer's sentiment as the
    conversation's current classification found it (empty: not known, or never classified).

    The overview's sentiment panels sum these rows. Rebuilt with DailyRollup, and for the days of
    conversations classified since, as a new classification changes the sentiment they count.
    """

    day = models.DateField()
    intent = models.CharField(max_length=64, blank=True)
    sentiment = models.CharField(max_length=8, blank=True)
    conversations = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "intent", "sentiment"], name="sentiment_rollup_unique_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.intent}/{self.sentiment}: {self.conversations}"


class DailyChoice(models.Model):
    """A value a dashboard filter offers for a resolution day: an intent, channel, team or agent of a
    computed analysis, or the customer language (current classification) of any current analysis.

    The filters list the values of the days in the range from these few rows instead of the rollups.
    Rebuilt with SentimentRollup.
    """

    class Dimension(models.TextChoices):
        INTENT = "intent", "Intent"
        CHANNEL = "channel", "Channel"
        TEAM = "team", "Team"
        AGENT = "agent", "Agent"
        LANGUAGE = "language", "Language"

    dimension = models.CharField(max_length=16, choices=Dimension)
    day = models.DateField()
    value = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "day", "value"], name="daily_choice_unique_value")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}"


class Backtest(TimeStampedModel):
    """A classifier configuration replayed over past conversations of the mirror, never touching Kustomer."""

    class Provider(models.TextChoices):
        LOCAL = "local", "Local classifier"
        CLAUDE = "claude", "Claude"
        CASCADE = "cascade", "Cascade (local first, Claude when unsure)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=128, blank=True)
    provider = models.CharField(max_length=16, choices=Provider, default=Provider.LOCAL)
    since = models.DateField(help_text="First day of conversations replayed (by when they began).")
    until = models.DateField(null=True, blank=True, help_text="Last day included; empty: up to today.")
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="At most this many conversations.")
    batch = models.BooleanField(
        default=True, help_text="Claude through the Message Batches API (half price)."
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    configuration = models.JSONField(
        default=dict, blank=True, help_text="Model, thresholds, prompt version and local model replayed."
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    batch_ids = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker holds it until then; past it, another takes over."
    )
    report = models.JSONField(default=dict, blank=True, help_text="The figures, computed when it ends.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or f"Backtest {self.pk}"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class BacktestItem(models.Model):
    """One conversation of a backtest: the prediction, its route, and the reference label it had."""

    backtest = models.ForeignKey(Backtest, on_delete=models.CASCADE, related_name="items")
    conversation = models.ForeignKey("kustomer.Conversation", on_delete=models.CASCADE, related_name="+")
    done = models.BooleanField(default=False)
    intent = models.CharField(max_length=64, blank=True)
    sub_intent = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    sub_intent_confidence = models.FloatField(null=True, blank=True)
    route = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    provider = models.CharField(max_length=16, blank=True)
    error = models.TextField(blank=True)
    label_intent = models.CharField(max_length=64, blank=True)
    label_sub_intent = models.CharField(max_length=64, blank=True)
    label_source = models.CharField(max_length=16, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_creation_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, default=Decimal("0"))
    entities = models.JSONField(default=dict, blank=True, help_text="order_number, email")
    autoreply = models.JSONField(
        default=dict, blank=True, help_text="The auto-reply policy that applied and its decision."
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["backtest", "conversation"], name="backtest_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.backtest_id}/{self.conversation_id}: {self.intent or '?'}"
