"""Request accounting: per-minute budgets, injected faults, statistics (callers hold the state lock)."""

import math
import re
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FAULT_STATUSES = {200, 429, 500, 502, 503, 504}
# Per-second counts are kept this long: enough to check a budget over any window of a test run.
SECONDS_KEPT = 600
BODY_SHAPES = {"jsonapi", "legacy"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Search is a read that Kustomer happens to take as a POST.
READS_BY_POST = {"POST /v1/customers/search"}


def minute_of(now: float) -> int:
    return int(now // 60)


def seconds_to_window_end(now: float) -> int:
    return max(1, math.ceil((minute_of(now) + 1) * 60 - now))


class MinuteBudget:
    """A fixed one-minute window counter, like Kustomer's per-org request budget."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window = -1
        self.used = 0

    def spend(self, now: float) -> bool:
        """Count one request; False when it goes over the limit."""
        window = minute_of(now)
        if window != self.window:
            self.window, self.used = window, 0
        self.used += 1
        return self.used <= self.limit

    def remaining(self, now: float) -> int:
        return self.limit if minute_of(now) != self.window else max(0, self.limit - self.used)


@dataclass
class FaultRule:
    """One injected failure: the next `count` matching requests get `status` instead of an answer.

    Status 200 is allowed as a pure delay: the request waits `latency_ms` and is then served normally.
    """

    status: int
    count: int = 1
    path: re.Pattern[str] | None = None
    method: str | None = None
    retry_after: float | None = None
    reset: float | None = None
    latency_ms: int = 0
    body_shape: str = "jsonapi"

    @classmethod
    def from_dict(cls, raw: Any) -> "FaultRule":
        """Validate a rule as posted to the control API; ValueError says what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("a fault rule must be a JSON object")
        unknown = set(raw) - {
            "status",
            "count",
            "path",
            "method",
            "retry_after",
            "reset",
            "latency_ms",
            "body_shape",
        }
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status = raw.get("status")
        if status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {sorted(FAULT_STATUSES)}")
        count = raw.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("count must be a positive integer")
        body_shape = raw.get("body_shape") or "jsonapi"
        if body_shape not in BODY_SHAPES:
            raise ValueError(f"body_shape must be one of {sorted(BODY_SHAPES)}")
        try:
            path = re.compile(raw["path"]) if raw.get("path") else None
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from exc
        for key in ("retry_after", "reset", "latency_ms"):
            value = raw.get(key)
            if value is not None and (
                not isinstance(value, int | float) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(f"{key} must be a non-negative number")
        return cls(
            status=status,
            count=count,
            path=path,
            method=raw["method"].upper() if raw.get("method") else None,
            retry_after=raw.get("retry_after"),
            reset=raw.get("reset"),
            latency_ms=int(raw.get("latency_ms") or 0),
            body_shape=body_shape,
        )

    @classmethod
    def from_spec(cls, spec: str) -> "FaultRule":
        """Parse the command line form STATUS:COUNT[:PATH_REGEX]."""
        parts = spec.split(":", 2)
        try:
            raw: dict[str, Any] = {"status": int(parts[0]), "count": int(parts[1]) if len(parts) > 1 else 1}
        except ValueError as exc:
            raise ValueError(f"fault {spec!r} is not STATUS:COUNT[:PATH_REGEX]") from exc
        if len(parts) == 3:
            raw["path"] = parts[2]
        return cls.from_dict(raw)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not self.path or bool(self.path.search(path))

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "path": self.path.pattern if self.path else None,
            "method": self.method,
            "retry_after": self.retry_after,
            "reset": self.reset,
            "latency_ms": self.latency_ms,
            "body_shape": self.body_shape,
        }


class FaultQueue:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching the request, with one of its uses consumed."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.count -= 1
                if rule.count == 0:
                    self.rules.remove(rule)
                return rule
        return None


class Stats:
    def __init__(self) -> None:
        self.total = 0
        self.by_minute: Counter[str] = Counter()
        self.by_second: Counter[int] = Counter()
        self.by_route: Counter[str] = Counter()
        self.writes_by_path: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def record(self, now: float, route: str, status: int, request: str = "") -> None:
        """`route` names the template (GET /v1/conversations/{id}); `request` the method and actual path."""
        self.total += 1
        self.by_minute[str(minute_of(now))] += 1
        second = int(now)
        if second not in self.by_second:
            for old in [s for s in self.by_second if s < second - SECONDS_KEPT]:
                del self.by_second[old]
        self.by_second[second] += 1
        self.by_route[route] += 1
        if request and not request.startswith("GET "):
            self.writes_by_path[request] += 1
        self.statuses[str(status)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_minute": dict(self.by_minute),
            "by_second": {str(second): count for second, count in sorted(self.by_second.items())},
            "by_route": dict(self.by_route),
            "writes_by_path": dict(self.writes_by_path),
            "statuses": dict(self.statuses),
        }


class RequestLog:
    """Every /v1/ request in order (the newest `limit` kept), so a test can say "no writes to Kustomer"."""

    def __init__(self, limit: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self.total = 0
        self.writes = 0

    def record(self, now: float, method: str, path: str, route: str, status: int) -> None:
        """`route` is "METHOD /template" for a known route, else the method and path as sent."""
        write = method in WRITE_METHODS and route not in READS_BY_POST
        self.total += 1
        self.writes += write
        self.entries.append(
            {
                "time": datetime.fromtimestamp(now, UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "write": write,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "writes": self.writes,
            "dropped": self.total - len(self.entries),
            "requests": list(self.entries),
        }
