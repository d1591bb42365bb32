"""One org-wide Kustomer request budget per minute, shared by every process via the database or Redis.

The window is a minute, as Kustomer's is; KUSTOMER_RATE_WINDOW_SECONDS shortens it (with the limit
scaled to match) only so that tests can cross several windows in seconds.
"""

import logging
import time
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from .exceptions import KustomerBudgetExhausted
from .models import RateWindow

logger = logging.getLogger(__name__)


class Budget(Protocol):
    def try_acquire(self, window: int, limit: int) -> bool: ...


class DatabaseBudget:
    """Counts requests in RateWindow rows; the conditional UPDATE makes the check atomic."""

    def try_acquire(self, window: int, limit: int) -> bool:
        with transaction.atomic():
            if RateWindow.objects.filter(window=window, count__lt=limit).update(count=F("count") + 1):
                return True
            if RateWindow.objects.filter(window=window).exists():
                return False
            try:
                with transaction.atomic():
                    RateWindow.objects.create(window=window, count=1)
            except IntegrityError:
                # Another process opened the window first; count in it instead.
                return bool(
                    RateWindow.objects.filter(window=window, count__lt=limit).update(count=F("count") + 1)
                )
            RateWindow.objects.filter(window__lt=window - 60).delete()
            return True


class RedisBudget:
    """Counts requests with INCR on a per-minute key that expires by itself."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    def _key(self, window: int) -> str:
        return f"bearscope:kustomer:budget:{window}"

    def try_acquire(self, window: int, limit: int) -> bool:
        key = self._key(window)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        return count <= limit


class RateBudget:
    """Blocks until the org's budget has a slot this minute, or raises if that would take too long."""

    def __init__(self, backend: Budget, *, limit: int, max_wait: float, window_seconds: int = 60) -> None:
        self.backend = backend
        self.limit = limit
        self.max_wait = max_wait
        self.window_seconds = window_seconds

    def acquire(self) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            now = time.time()
            window = int(now // self.window_seconds)
            if self.backend.try_acquire(window, self.limit):
                return
            wait = (window + 1) * self.window_seconds - now + 0.05
            if time.monotonic() + wait > deadline:
                raise KustomerBudgetExhausted(
                    f"Org-wide Kustomer budget of {self.limit} per {self.window_seconds} s is used up "
                    f"for the next {wait:.0f} s"
                )
            logger.info("Kustomer budget used up; waiting %.1f s for the next window", wait)
            time.sleep(wait)


def budget_get() -> RateBudget:
    backend: Budget = RedisBudget(settings.REDIS_URL) if settings.REDIS_URL else DatabaseBudget()
    return RateBudget(
        backend,
        limit=settings.KUSTOMER_RATE_LIMIT_PER_MINUTE,
        max_wait=settings.KUSTOMER_MAX_WAIT_SECONDS,
        window_seconds=settings.KUSTOMER_RATE_WINDOW_SECONDS,
    )


class ShareBudget:
    """A share of the org budget for bulk work (the history import), so live traffic keeps the rest.

    It counts its own requests per window in this process (one import runs at a time) and takes each
    one's slot from the org budget too; `spent` counts them all.
    """

    def __init__(self, org: RateBudget, *, share: float) -> None:
        self.org = org
        self.limit = max(1, int(org.limit * share))
        self.window = -1
        self.used = 0
        self.spent = 0

    def acquire(self) -> None:
        while True:
            now = time.time()
            window = int(now // self.org.window_seconds)
            if window != self.window:
                self.window, self.used = window, 0
            if self.used < self.limit:
                break
            time.sleep((window + 1) * self.org.window_seconds - now + 0.05)
        self.used += 1
        self.spent += 1
        self.org.acquire()


def budget_share_get(share: float) -> ShareBudget:
    """`share` of the org budget; it waits up to a whole window for a slot, as bulk work may."""
    org = budget_get()
    org.max_wait = max(org.max_wait, org.window_seconds + 5.0)
    return ShareBudget(org, share=share)
