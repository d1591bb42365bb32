"""Running a backtest: pick the conversations, predict each without side effects, store, then report."""

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from bearscope.exceptions import BearScopeError
from bearscope.llm import batch_ended, batch_results, batch_submit, llm_configured
from bearscope.queue import enqueue_on_commit
from classification.labels import reference_labels
from classification.local.services import local_model_active
from classification.models import ClassifierSettings, Intent
from classification.prompting import static_prompt_build
from classification.services.predicting import (
    MadePrediction,
    cascade_settles,
    claude_request,
    prediction_from_claude,
    prediction_local,
    prediction_make,
    prediction_text,
)
from kustomer.models import Conversation, Message

from ..models import Backtest, BacktestItem
from .metrics import Row, backtest_figures
from .policies import autoreply_decisions

RUN_TASK = "intelligence.tasks.backtest_run"
BATCH_SIZE = 5000  # requests per Message Batch (the API takes up to 100,000)
SAVE_EVERY = 25
# A worker's share of a backtest: well inside the queue's task timeout (Q_TIMEOUT, 120 s by default).
WORKER_SECONDS = 60
LEASE_MARGIN_SECONDS = 60  # progress written to the row this often, for the admin and the pages

Progress = Callable[[int, int], None]


class BacktestError(BearScopeError):
    """A backtest that cannot run as asked; the message says why and what to do."""


def backtest_check(*, provider: str, since: date | None, until: date | None) -> None:
    """Raise BacktestError, saying what to do, when a backtest could not run as asked."""
    if provider not in Backtest.Provider.values:
        raise BacktestError(f"Unknown provider {provider!r}: choose local, claude or cascade.")
    if since and until and until < since:
        raise BacktestError("The last day comes before the first.")
    if provider != Backtest.Provider.CLAUDE and local_model_active() is None:
        raise BacktestError("No active local classifier: train one first (manage.py classifier_train).")
    if provider != Backtest.Provider.LOCAL and not llm_configured():
        raise BacktestError(
            "Claude is not configured: set ANTHROPIC_API_KEY, or backtest the local classifier."
        )


def backtest_create(
    *,
    provider: str,
    since: date,
    until: date | None = None,
    limit: int | None = None,
    name: str = "",
    batch: bool = True,
    user: AbstractBaseUser | None = None,
) -> Backtest:
    backtest_check(provider=provider, since=since, until=until)
    return Backtest.objects.create(
        provider=provider,
        since=since,
        until=until,
        limit=limit,
        name=name or f"{Backtest.Provider(provider).label}, from {since:%Y-%m-%d}",
        batch=batch,
        created_by=user if user and user.is_authenticated else None,
    )


def backtest_enqueue(*, backtest: Backtest) -> None:
    enqueue_on_commit(RUN_TASK, backtest.pk, task_name=f"backtest-{backtest.pk}")


def backtest_conversations(*, since: date, until: date | None, limit: int | None) -> QuerySet[Conversation]:
    """Past conversations that began in the range and have a customer message, oldest first."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    conversations = Conversation.objects.filter(kustomer_created_at__gte=start)
    if until is not None:
        conversations = conversations.filter(
            kustomer_created_at__lt=datetime.combine(
                until + timedelta(days=1), datetime.min.time(), tzinfo=tz
            )
        )
    inbound = Message.objects.filter(direction=Message.Direction.IN).values("conversation_id")
    conversations = conversations.filter(pk__in=inbound).order_by("kustomer_created_at", "pk")
    return conversations[:limit] if limit else conversations


def _configuration(backtest: Backtest, config: ClassifierSettings, local, prompt_version: str) -> dict:
    overrides = dict(
        Intent.objects.filter(parent__isnull=True, auto_route_threshold__isnull=False).values_list(
            "key", "auto_route_threshold"
        )
    )
    uses_claude = backtest.provider != Backtest.Provider.LOCAL
    return {
        "model": config.model_id if uses_claude else "",
        "local_model": f"local model v{local[0].pk}" if local and backtest.provider != "claude" else "",
        "prompt_version": prompt_version,
        "auto_route_threshold": str(config.auto_route_threshold),
        "intent_thresholds": {key: str(value) for key, value in overrides.items()},
        "cascade_threshold": str(config.local_cascade_threshold) if backtest.provider == "cascade" else "",
        "local_fallback": bool(uses_claude and local and config.local_fallback),
        "batch": bool(uses_claude and backtest.batch),
    }


def _items_create(backtest: Backtest) -> None:
    if backtest.items.exists():
        return  # resuming: the conversations were chosen on the first run
    pks = list(
        backtest_conversations(since=backtest.since, until=backtest.until, limit=backtest.limit).values_list(
            "pk", flat=True
        )
    )
    labels = reference_labels(conversation_ids=pks)
    items = []
    for pk in pks:
        label = labels.get(pk)
        items.append(
            BacktestItem(
                backtest=backtest,
                conversation_id=pk,
                label_intent=label.intent if label else "",
                label_sub_intent=label.sub_intent if label else "",
                label_source=label.source if label else "",
            )
        )
    BacktestItem.objects.bulk_create(items, batch_size=500, ignore_conflicts=True)


def _store(item: BacktestItem, made: MadePrediction) -> None:
    for name in (
        "intent",
        "sub_intent",
        "confidence",
        "route",
        "reason",
        "provider",
        "error",
        "input_tokens",
        "output_tokens",
        "cache_creation_tokens",
        "cache_read_tokens",
        "cost_usd",
    ):
        setattr(item, name, getattr(made, name))
    item.sub_intent_confidence = made.sub_intent_confidence
    item.entities = made.entities
    item.done = True
    item.save()


class _Tracker:
    def __init__(self, backtest: Backtest, progress: Progress | None) -> None:
        self.backtest, self.progress = backtest, progress
        self.total = backtest.items.count()
        self.done = backtest.items.filter(done=True).count()
        Backtest.objects.filter(pk=backtest.pk).update(total=self.total, processed=self.done)
        self._report()

    def advance(self) -> None:
        self.done += 1
        if self.done % SAVE_EVERY == 0 or self.done == self.total:
            Backtest.objects.filter(pk=self.backtest.pk).update(processed=self.done)
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, self.total)


class _OutOfTime(Exception):
    """The worker's time budget is spent: hand over to the next task."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise _OutOfTime


def backtest_run(
    *,
    backtest_pk: int,
    progress: Progress | None = None,
    poll_seconds: float = 5,
    time_budget: float | None = None,
) -> Backtest:
    """Run (or resume) a backtest; a failure is recorded on the row and raised.

    With `time_budget` (seconds; a worker's task must end before the queue's timeout) it stops
    after about that long and leaves the backtest running for the next call to go on with.
    A claim is a lease: a worker killed mid-run leaves one that expires, and the next call takes over.
    """
    now = timezone.now()
    lease = timedelta(seconds=(time_budget or 24 * 3600) + LEASE_MARGIN_SECONDS)
    claimed = (
        Backtest.objects.filter(pk=backtest_pk)
        .filter(
            Q(status__in=[Backtest.Status.PENDING, Backtest.Status.FAILED])
            | Q(status=Backtest.Status.RUNNING, lease_until__lt=now)
            | Q(status=Backtest.Status.RUNNING, lease_until__isnull=True)
        )
        .update(status=Backtest.Status.RUNNING, lease_until=now + lease, error="")
    )
    backtest = Backtest.objects.get(pk=backtest_pk)
    if not claimed:
        return backtest  # done already, or another worker is on it
    if backtest.started_at is None:
        backtest.started_at = now
        backtest.save(update_fields=["started_at"])
    deadline = time.monotonic() + time_budget if time_budget else None
    try:
        _run(backtest, progress, poll_seconds, deadline)
    except _OutOfTime:
        Backtest.objects.filter(pk=backtest.pk).update(lease_until=None)
    except Exception as exc:
        Backtest.objects.filter(pk=backtest.pk).update(
            status=Backtest.Status.FAILED, error=str(exc)[:4000], finished_at=timezone.now(), lease_until=None
        )
        raise
    backtest.refresh_from_db()
    return backtest


def _run(backtest: Backtest, progress: Progress | None, poll_seconds: float, deadline: float | None) -> None:
    config = ClassifierSettings.load()
    local = local_model_active() if backtest.provider != Backtest.Provider.CLAUDE else None
    if backtest.provider != Backtest.Provider.CLAUDE and local is None:
        raise BacktestError("No active local classifier: train one first (manage.py classifier_train).")
    static = static_prompt_build(config) if backtest.provider != Backtest.Provider.LOCAL else None
    if not backtest.configuration:  # a resumed run keeps what it started with
        backtest.configuration = _configuration(backtest, config, local, static.version if static else "")
        backtest.save(update_fields=["configuration", "updated_at"])
    _items_create(backtest)
    tracker = _Tracker(backtest, progress)
    pending = backtest.items.filter(done=False).select_related("conversation")
    if backtest.provider != Backtest.Provider.LOCAL and backtest.batch:
        _run_batched(backtest, pending, config, local, static, tracker, poll_seconds, deadline)
    else:
        for item in pending.iterator(chunk_size=200):
            _check(deadline)
            made = prediction_make(
                conversation=item.conversation,
                config=config,
                provider=backtest.provider,
                local=local,
                static=static,
            )
            _store(item, made)
            tracker.advance()
    backtest_finish(backtest=backtest)


def _run_batched(
    backtest, pending, config, local, static, tracker: _Tracker, poll_seconds: float, deadline: float | None
) -> None:
    """Local answers first (a cascade keeps the sure ones), then the rest through Message Batches."""
    texts: dict[int, str] = {}
    submitted = _submitted(backtest)
    for item in pending.iterator(chunk_size=200):
        _check(deadline)
        text = prediction_text(conversation=item.conversation, config=config)
        if backtest.provider == Backtest.Provider.CASCADE:
            answer = prediction_local(text=text, config=config, local=local)
            if cascade_settles(answer, config):
                _store(item, answer)
                tracker.advance()
                continue
        if item.pk not in submitted:
            texts[item.pk] = text
    pks = list(texts)
    for start in range(0, len(pks), BATCH_SIZE):
        chunk = pks[start : start + BATCH_SIZE]
        requests = [
            claude_request(custom_id=f"item-{pk}", text=texts[pk], config=config, static=static)
            for pk in chunk
        ]
        batch_id = batch_submit(requests=requests)
        with transaction.atomic():
            backtest.batch_ids = [*backtest.batch_ids, {"id": batch_id, "items": chunk}]
            backtest.save(update_fields=["batch_ids", "updated_at"])
    for entry in backtest.batch_ids:
        while not batch_ended(batch_id=entry["id"]):
            _check(deadline)
            time.sleep(poll_seconds)
        for custom_id, result in batch_results(batch_id=entry["id"]):
            item = backtest.items.filter(pk=int(custom_id.removeprefix("item-")), done=False).first()
            if item is None:
                continue
            text = texts.get(item.pk) or prediction_text(conversation=item.conversation, config=config)
            _store(item, prediction_from_claude(result=result, text=text, config=config, local=local))
            tracker.advance()


def _submitted(backtest: Backtest) -> set[int]:
    return {pk for entry in backtest.batch_ids for pk in entry["items"]}


def backtest_rows(*, backtest: Backtest) -> list[Row]:
    fields = list(Row.__dataclass_fields__)
    return [Row(**values) for values in backtest.items.filter(done=True).values(*fields)]


def backtest_finish(*, backtest: Backtest) -> Backtest:
    """The auto-reply decisions and the figures, once every conversation has its prediction."""
    autoreply_decisions(backtest=backtest)
    backtest.report = backtest_figures(backtest_rows(backtest=backtest))
    backtest.status = Backtest.Status.DONE
    backtest.processed = backtest.items.filter(done=True).count()
    backtest.finished_at = timezone.now()
    backtest.save(update_fields=["report", "status", "processed", "finished_at", "updated_at"])
    return backtest
