"""Writes of the intelligence pipeline: schedule, compute and extract one analysis per resolution."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bearscope.llm import (
    BatchRequest,
    LlmCall,
    LlmError,
    LlmFailure,
    LlmInvalidOutput,
    batch_submit,
    cached_system,
    llm_configured,
    output_parse,
    structured_call,
)
from bearscope.queue import enqueue_each_on_commit, enqueue_on_commit, task_claim_expiry
from bearscope.sweeps import SWEEP_BATCH
from classification.redaction import prompt_input_build
from kustomer.client import KustomerError
from kustomer.models import Conversation, Message
from kustomer.services import conversation_messages_complete, machine_user_id

from .autoreplies import auto_reply_recorded
from .metrics import ThreadMessage, metrics_compute
from .models import ConversationAnalysis, InsightsSettings, ResolutionMethod, RootCause
from .prompting import ExtractionOutput, static_prompt_build, thread_text
from .selectors import assignment_history, conversation_intent

logger = logging.getLogger(__name__)

ANALYSE_TASK = "intelligence.tasks.conversation_analyse"
EXTRACT_TASK = "intelligence.tasks.analysis_extract"
EXTRACTION_MAX_TOKENS = 800
EXTRACTION_MAX_ATTEMPTS = 5
Extraction = ConversationAnalysis.Extraction


def analysis_schedule(
    *, conversation: Conversation, occurrence: int, resolved_at: datetime | None = None
) -> ConversationAnalysis:
    """Record a resolution to analyse after the quiet period; the same occurrence twice is one row.

    Runs inside the event's processing transaction; the earlier resolutions' analyses stay as history.
    """
    now = timezone.now()
    quiet = timedelta(seconds=settings.INSIGHTS_QUIET_PERIOD_SECONDS)
    try:
        with transaction.atomic():
            analysis, created = ConversationAnalysis.objects.get_or_create(
                conversation=conversation,
                occurrence=occurrence,
                defaults={
                    "due_at": now + quiet,
                    # From the resolving event; a backfill knows only the mirror's last update.
                    "resolved_at": resolved_at or conversation.kustomer_updated_at or now,
                    "channel": (conversation.channels or [""])[0][:32],
                    "team": (conversation.assigned_teams or [""])[0][:64],
                    "agent": (conversation.assigned_users or [""])[0][:64],
                },
            )
    except IntegrityError:
        return ConversationAnalysis.objects.get(conversation=conversation, occurrence=occurrence)
    if created:
        ConversationAnalysis.objects.filter(conversation=conversation, current=True).exclude(
            pk=analysis.pk
        ).update(current=False, updated_at=now)
        if not quiet:
            enqueue_on_commit(ANALYSE_TASK, analysis.pk, task_name=f"analyse-{analysis.pk}")
    return analysis


def _thread(conversation: Conversation, ours: str) -> list[ThreadMessage]:
    rows = conversation.messages.exclude(sent_at__isnull=True).values_list(
        "direction", "sent_at", "created_by"
    )
    return [
        ThreadMessage(
            direction=d, sent_at=at, by_bearscope=bool(ours) and by == ours and d == Message.Direction.OUT
        )
        for d, at, by in rows
    ]


def _messages_complete(analysis: ConversationAnalysis, conversation: Conversation) -> int:
    """Ask Kustomer for messages the mirror lacks (Kustomer's count is higher); the mirror alone otherwise."""
    if conversation.messages.count() >= conversation.message_count:
        return 0
    try:
        return conversation_messages_complete(conversation=conversation)
    except KustomerError as exc:
        logger.warning("Analysis %s: could not complete the thread from Kustomer: %s", analysis.pk, exc)
        return 0


def conversation_analyse(
    *, analysis_pk: int, force: bool = False, extract: bool = True
) -> ConversationAnalysis:
    """Compute the numbers of one resolution, then hand the extraction on; safe to run twice.

    Before its quiet period ends it does nothing unless `force` (the backfill) says so. With
    `extract` off the extraction is left pending for the caller (the backfill sends batches).
    """
    analysis = ConversationAnalysis.objects.select_related("conversation").get(pk=analysis_pk)
    if analysis.status == ConversationAnalysis.Status.DONE or (
        not force and analysis.due_at > timezone.now()
    ):
        return analysis
    conversation = analysis.conversation
    # HTTP to Kustomer (missing messages, our machine user's id) happens before any row lock is taken.
    fetched = _messages_complete(analysis, conversation)
    ours = machine_user_id()
    with transaction.atomic():
        analysis = ConversationAnalysis.objects.select_for_update().get(pk=analysis_pk)
        if analysis.status == ConversationAnalysis.Status.DONE:
            return analysis
        conversation.refresh_from_db()
        metrics = metrics_compute(
            messages=_thread(conversation, ours),
            states=assignment_history(conversation=conversation, until=analysis.resolved_at),
            created_at=conversation.kustomer_created_at,
            resolved_at=analysis.resolved_at,
            reopens=analysis.occurrence - 1,
            auto_reply_recorded=auto_reply_recorded(conversation_pk=conversation.pk),
        )
        for name, value in vars(metrics).items():
            setattr(analysis, name, value)
        analysis.intent, analysis.route = conversation_intent(conversation_pk=conversation.pk)
        analysis.messages_fetched = fetched
        analysis.status = ConversationAnalysis.Status.DONE
        analysis.analysed_at = timezone.now()
        if analysis.extraction_status in (Extraction.PENDING, Extraction.WAITING_KEY):
            analysis.extraction_status = Extraction.PENDING if llm_configured() else Extraction.WAITING_KEY
        analysis.save()
        if extract and analysis.extraction_status == Extraction.PENDING:
            enqueue_on_commit(EXTRACT_TASK, analysis.pk, task_name=f"extract-{analysis.pk}")
    return analysis


def extraction_apply(*, analysis: ConversationAnalysis, call: LlmCall | None, error: LlmError | None) -> None:
    """Validate Claude's answer against the live taxonomies and store it; an invalid one is flagged.

    Invalid output (bad JSON, out of range, unknown key, refusal, cut off) is kept as raw text
    with the reason and shown as flagged; an unavailable Claude leaves it failed for the sweeper.
    """
    call = call or (error.call if error else None)
    if call is not None:
        analysis.raw_output = call.text
        analysis.input_tokens = call.usage.input_tokens + call.usage.cache_read_tokens
        analysis.output_tokens = call.usage.output_tokens
        analysis.cost_usd = call.cost_usd
        analysis.model_id = call.model
    analysis.extraction_attempts += 1
    analysis.extracted_at = timezone.now()
    analysis.extraction_started_at = None
    if error is None and call is not None:
        try:
            _output_apply(analysis, output_parse(call, ExtractionOutput))
        except LlmError as exc:
            error = exc
    if error is None:
        analysis.extraction_status, analysis.extraction_error = Extraction.DONE, ""
    elif error.reason != LlmFailure.CLASSIFIER_ERROR:  # an answer came, and it was unusable
        analysis.extraction_status = Extraction.INVALID
        analysis.extraction_error = f"{error.reason}: {error}"[:4000]
    else:
        analysis.extraction_status, analysis.extraction_error = Extraction.FAILED, str(error)[:4000]
    analysis.save()


def _output_apply(analysis: ConversationAnalysis, output: ExtractionOutput) -> None:
    cause = RootCause.objects.filter(key=output.root_cause, active=True).first()
    method = ResolutionMethod.objects.filter(key=output.resolution_method, active=True).first()
    if cause is None:
        raise LlmInvalidOutput(f"Unknown or inactive root cause {output.root_cause!r}.")
    if method is None:
        raise LlmInvalidOutput(f"Unknown or inactive resolution method {output.resolution_method!r}.")
    analysis.root_cause, analysis.resolution_method = cause, method
    analysis.accuracy_score, analysis.accuracy_evidence = output.accuracy.score, output.accuracy.evidence
    analysis.tone_score, analysis.tone_evidence = output.tone.score, output.tone.evidence
    analysis.summary = output.summary.strip()


def _prepare(analysis: ConversationAnalysis):
    static = static_prompt_build()
    # Redacted as for classification (the classifier settings' switch); the raw thread stays in the mirror.
    # The answer keeps the placeholders: summaries and quotes need no one's address.
    analysis.prompt_input = prompt_input_build(conversation=analysis.conversation, render=thread_text).text
    analysis.prompt_version = static.prompt_version
    analysis.model_id = InsightsSettings.load().model_id
    return static


def analysis_extract(*, analysis_pk: int) -> ConversationAnalysis:
    """Ask Claude for the extracted part of a computed analysis; without a key it waits."""
    analysis = ConversationAnalysis.objects.select_related("conversation").get(pk=analysis_pk)
    ready = analysis.status == ConversationAnalysis.Status.DONE
    if not ready or analysis.extraction_status not in (
        Extraction.PENDING,
        Extraction.FAILED,
        Extraction.WAITING_KEY,
    ):
        return analysis
    if not llm_configured():
        ConversationAnalysis.objects.filter(pk=analysis.pk).update(
            extraction_status=Extraction.WAITING_KEY, updated_at=timezone.now()
        )
        analysis.refresh_from_db()
        return analysis
    # A redelivered task must not ask Claude a second time while the first is still asking.
    now = timezone.now()
    taken = ConversationAnalysis.objects.filter(
        Q(extraction_started_at__isnull=True) | Q(extraction_started_at__lt=now - task_claim_expiry()),
        pk=analysis.pk,
        extraction_status=analysis.extraction_status,
    ).update(extraction_started_at=now)
    if not taken:
        return analysis
    analysis.extraction_started_at = now
    static = _prepare(analysis)
    call, error = None, None
    try:
        call = structured_call(
            model=analysis.model_id,
            system=cached_system(static.text),
            user_text=analysis.prompt_input,
            schema=static.schema,
            max_tokens=EXTRACTION_MAX_TOKENS,
        )
    except LlmError as exc:
        error = exc
    extraction_apply(analysis=analysis, call=call, error=error)
    return analysis


def extractions_submit(*, analyses: Iterable[ConversationAnalysis]) -> str:
    """Send analyses' extractions as one Message Batch and mark them submitted; returns the batch id."""
    analyses = list(analyses)
    requests = []
    for analysis in analyses:
        static = _prepare(analysis)
        requests.append(
            BatchRequest(
                custom_id=f"analysis-{analysis.pk}",
                model=analysis.model_id,
                system=cached_system(static.text),
                user_text=analysis.prompt_input,
                schema=static.schema,
                max_tokens=EXTRACTION_MAX_TOKENS,
            )
        )
    batch_id = batch_submit(requests=requests)
    for analysis in analyses:
        analysis.extraction_status, analysis.batch_id = Extraction.SUBMITTED, batch_id
    ConversationAnalysis.objects.bulk_update(
        analyses, ["extraction_status", "batch_id", "prompt_input", "prompt_version", "model_id"]
    )
    return batch_id


def extraction_batch_apply(*, custom_id: str, result: LlmCall | LlmError) -> ConversationAnalysis | None:
    """Store one batch result; an id that is not ours, or already extracted, is skipped."""
    pk = custom_id.removeprefix("analysis-")
    if not pk.isdigit():
        return None
    analysis = ConversationAnalysis.objects.filter(pk=int(pk), extraction_status=Extraction.SUBMITTED).first()
    if analysis is None:
        return None
    if isinstance(result, LlmError):
        extraction_apply(analysis=analysis, call=None, error=result)
    else:
        extraction_apply(analysis=analysis, call=result, error=None)
    return analysis


def analyses_sweep() -> list[int]:
    """Enqueue analyses whose quiet period is over (the periodic sweeper); returns their ids."""
    due = list(
        ConversationAnalysis.objects.filter(
            status=ConversationAnalysis.Status.WAITING, due_at__lte=timezone.now()
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(ANALYSE_TASK, due, name="analyse")
    return due


def extractions_sweep() -> list[int]:
    """Enqueue extractions pending for a while or failed with attempts left; returns the analysis ids."""
    if not llm_configured():
        return []
    extract = list(
        ConversationAnalysis.objects.filter(
            Q(extraction_status=Extraction.PENDING, updated_at__lt=timezone.now() - timedelta(minutes=5))
            | Q(extraction_status=Extraction.FAILED),
            status=ConversationAnalysis.Status.DONE,
            extraction_attempts__lt=EXTRACTION_MAX_ATTEMPTS,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_each_on_commit(EXTRACT_TASK, extract, name="extract")
    return extract


def history_schedule(*, since) -> int:
    """Analysis rows for resolved conversations since `since` that have none yet; returns how many."""
    resolved = Conversation.objects.filter(
        Q(status="done") | Q(resolved_count__gt=0), kustomer_updated_at__gte=since, analyses__isnull=True
    )
    created = 0
    for conversation in resolved.iterator():
        with transaction.atomic():
            analysis_schedule(conversation=conversation, occurrence=max(conversation.resolved_count, 1))
        created += 1
    return created


def extractions_retry(*, analyses) -> int:
    """Let the sweeper try flagged, failed or waiting extractions again (the admin action)."""
    return analyses.filter(
        status=ConversationAnalysis.Status.DONE,
        extraction_status__in=[Extraction.FAILED, Extraction.INVALID, Extraction.WAITING_KEY],
    ).update(extraction_status=Extraction.FAILED, extraction_attempts=0, updated_at=timezone.now())
