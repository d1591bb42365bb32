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
        self._compute(since)
        if not llm_configured():
            waiting = self._needing_extraction(since).count()
            self.stdout.write(
                f"ANTHROPIC_API_KEY is not set: the computed part is done; {waiting} extractions wait. "
                "Run this command again once the key is set."
            )
        elif options["batch"]:
            self._extract_in_batches(since, options["batch_size"], options["poll_seconds"])
        else:
            self._extract_directly(since)
        days = rollups.rollup_refresh_all()
        self.stdout.write(self.style.SUCCESS(f"Done. Dashboard rollups rebuilt for {days} days."))

    def _compute(self, since: datetime) -> None:
        waiting = ConversationAnalysis.objects.filter(
            status=ConversationAnalysis.Status.WAITING, resolved_at__gte=since
        ).values_list("pk", flat=True)
        bar = ProgressBar(waiting.count(), "Computing ", self.stderr)
        for pk in waiting.iterator():
            services.conversation_analyse(analysis_id=pk, force=True, extract=False)
            bar.advance()
        bar.close()

    def _needing_extraction(self, since: datetime):
        return ConversationAnalysis.objects.filter(
            Q(extraction_status__in=[Extraction.PENDING, Extraction.WAITING_KEY, Extraction.FAILED]),
            status=ConversationAnalysis.Status.DONE,
            resolved_at__gte=since,
        ).order_by("pk")

    def _extract_directly(self, since: datetime) -> None:
        pending = self._needing_extraction(since).values_list("pk", flat=True)
        bar = ProgressBar(pending.count(), "Extracting", self.stderr)
        for pk in pending.iterator():
            services.analysis_extract(analysis_id=pk)
            bar.advance()
        bar.close()
        self._report(since)

    def _extract_in_batches(self, since: datetime, size: int, poll_seconds: float) -> None:
        pending = list(self._needing_extraction(since).select_related("conversation"))
        batch_ids = []
        bar = ProgressBar(len(pending), "Submitting", self.stderr)
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            try:
                batch_ids.append(services.extractions_submit(analyses=chunk))
            except LlmError as exc:
                bar.close()
                raise CommandError(f"Claude did not take the batch: {exc}") from exc
            bar.advance(len(chunk))
        bar.close()
        bar = ProgressBar(len(pending), "Collecting", self.stderr)
        for batch_id in batch_ids:
            while not batch_ended(batch_id=batch_id):
                time.sleep(poll_seconds)
            for custom_id, result in batch_results(batch_id=batch_id):
                services.extraction_batch_apply(custom_id=custom_id, result=result)
                bar.advance()
        bar.close()
        self._report(since)

    def _report(self, since: datetime) -> None:
        analyses = ConversationAnalysis.objects.filter(resolved_at__gte=since)
        counts = {s.label: analyses.filter(extraction_status=s).count() for s in Extraction}
        self.stdout.write(", ".join(f"{label}: {n}" for label, n in counts.items() if n))
