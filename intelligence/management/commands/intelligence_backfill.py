"""Analyse resolved conversations since a date, and fill in extractions still missing."""

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from bearscope.llm import LlmError, batch_ended, batch_results, llm_configured
from intelligence import rollups, services
from intelligence.models import ConversationAnalysis
from intelligence.progress import ProgressBar

Extraction = ConversationAnalysis.Extraction
MAX_BATCH_REQUESTS = 100_000  # the Message Batches API's limit per batch


class Command(BaseCommand):
    help = (
        "Analyse conversations resolved since --since that have no analysis yet, compute what is "
        "missing, and ask Claude for the extracted part where it is missing (--batch: through the "
        "Message Batches API at half price, waiting for the results)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="YYYY-MM-DD: resolutions on or after this day.")
        parser.add_argument("--batch", action="store_true", help="Use the Message Batches API (half price).")
        parser.add_argument("--batch-size", type=int, default=10_000, help="Requests per batch.")
        parser.add_argument("--poll-seconds", type=float, default=30.0, help="Seconds between batch checks.")

    def handle(self, *args, **options) -> None:
        try:
            since = datetime.strptime(options["since"], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise CommandError(f"--since must be a date like 2026-01-31, not {options['since']!r}.") from None
        if not 1 <= options["batch_size"] <= MAX_BATCH_REQUESTS:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_REQUESTS}.")
        created = services.history_schedule(since=since)
        self.stdout.write(f"{created} resolved conversations had no analysis yet.")
        if not llm_configured():
            self._compute(since)
            waiting = self._needing_extraction(since).count()
            self.stdout.write(
                f"ANTHROPIC_API_KEY is not set: the computed part is done; {waiting} extractions wait. "
                "Run this command again once the key is set."
            )
        elif options["batch"]:
            self._in_batches(since, options["batch_size"], options["poll_seconds"])
        else:
            self._directly(since)
        days = rollups.rollup_refresh_all()
        self.stdout.write(self.style.SUCCESS(f"Done. Dashboard rollups rebuilt for {days} days."))

    def _waiting(self, since: datetime):
        return ConversationAnalysis.objects.filter(
            status=ConversationAnalysis.Status.WAITING, resolved_at__gte=since
        ).values_list("pk", flat=True)

    def _needing_extraction(self, since: datetime):
        return ConversationAnalysis.objects.filter(
            Q(extraction_status__in=[Extraction.PENDING, Extraction.WAITING_KEY, Extraction.FAILED]),
            status=ConversationAnalysis.Status.DONE,
            resolved_at__gte=since,
        ).order_by("pk")

    def _compute(self, since: datetime) -> None:
        waiting = self._waiting(since)
        bar = ProgressBar(waiting.count(), "Computing ", self.stderr)
        for pk in waiting.iterator():
            services.conversation_analyse(analysis_pk=pk, force=True, extract=False)
            bar.advance()
        bar.close()

    def _directly(self, since: datetime) -> None:
        # Each analysis is extracted right after it is computed, so the sweeper never sees it pending.
        waiting = self._waiting(since)
        total = waiting.count() + self._needing_extraction(since).count()
        bar = ProgressBar(total, "Analysing ", self.stderr)
        for pk in waiting.iterator():
            services.conversation_analyse(analysis_pk=pk, force=True, extract=False)
            services.analysis_extract(analysis_pk=pk)
            bar.advance()
        for pk in self._needing_extraction(since).values_list("pk", flat=True).iterator():
            services.analysis_extract(analysis_pk=pk)
            bar.advance()
        bar.close()
        self._report(since)

    def _in_batches(self, since: datetime, size: int, poll_seconds: float) -> None:
        # Computed a chunk at a time and submitted at once, so the sweeper never sees them pending.
        waiting = list(self._waiting(since))
        bar = ProgressBar(len(waiting) + self._needing_extraction(since).count(), "Submitting", self.stderr)
        batch_ids = []
        pending = self._needing_extraction(since).select_related("conversation")
        for start in range(0, len(waiting), size):
            chunk = waiting[start : start + size]
            for pk in chunk:
                services.conversation_analyse(analysis_pk=pk, force=True, extract=False)
            batch_ids += self._submit(list(pending.filter(pk__in=chunk)), bar)
        # Then those computed earlier and still missing their extraction; submitted ones leave the set.
        while earlier := list(pending[:size]):
            batch_ids += self._submit(earlier, bar)
        bar.close()
        bar = ProgressBar(
            ConversationAnalysis.objects.filter(batch_id__in=batch_ids).count(), "Collecting", self.stderr
        )
        for batch_id in batch_ids:
            while not batch_ended(batch_id=batch_id):
                time.sleep(poll_seconds)
            for custom_id, result in batch_results(batch_id=batch_id):
                services.extraction_batch_apply(custom_id=custom_id, result=result)
                bar.advance()
        bar.close()
        self._report(since)

    def _submit(self, analyses: list[ConversationAnalysis], bar: ProgressBar) -> list[str]:
        if not analyses:
            return []
        try:
            batch_id = services.extractions_submit(analyses=analyses)
        except LlmError as exc:
            bar.close()
            raise CommandError(f"Claude did not take the batch: {exc}") from exc
        bar.advance(len(analyses))
        return [batch_id]

    def _report(self, since: datetime) -> None:
        analyses = ConversationAnalysis.objects.filter(resolved_at__gte=since)
        counts = {s.label: analyses.filter(extraction_status=s).count() for s in Extraction}
        self.stdout.write(", ".join(f"{label}: {n}" for label, n in counts.items() if n))
