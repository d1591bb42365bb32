"""The computed part of an analysis: plain functions over a thread, its assignment history and times."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

IN, OUT = "in", "out"

# Customer effort score, 1.0 (effortless) to 5.0 (a struggle); README "Customer effort score".
EFFORT_BASE = 1.0
EFFORT_PER_EXTRA_MESSAGE, EFFORT_MAX_EXTRA_MESSAGES = 0.5, 4
EFFORT_PER_TRANSFER, EFFORT_MAX_TRANSFERS = 0.75, 2
EFFORT_PER_REOPEN, EFFORT_MAX_REOPENS = 1.0, 2
EFFORT_WAIT_HOURS_PER_POINT, EFFORT_MAX_WAIT_HOURS = 12.0, 24.0
EFFORT_MAX = 5.0

# (key, label, upper bound exclusive) of the effort bands shown on the dashboards.
EFFORT_BANDS: list[tuple[str, str, float]] = [
    ("low", "Low (below 2)", 2.0),
    ("moderate", "Moderate (2 to 3)", 3.0),
    ("high", "High (3 to 4)", 4.0),
    ("very_high", "Very high (4 and above)", math.inf),
]


@dataclass(frozen=True)
class ThreadMessage:
    direction: str
    sent_at: datetime
    by_bearscope: bool = False


@dataclass(frozen=True)
class AssignmentState:
    """Who a conversation was assigned to at one moment (one stored conversation payload)."""

    teams: tuple[str, ...]
    users: tuple[str, ...]


@dataclass(frozen=True)
class Metrics:
    first_response_seconds: int | None
    resolution_seconds: int | None
    customer_messages: int
    agent_messages: int
    transfers: int
    reopens: int
    customer_wait_seconds: int
    auto_reply_involved: bool
    effort_score: Decimal


def _seconds(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds()), 0)


def first_response_seconds(messages: Sequence[ThreadMessage]) -> int | None:
    """From the customer's first message to the team's first reply; BearScope's auto-replies do not count."""
    first_in = next((m for m in messages if m.direction == IN), None)
    if first_in is None:
        return None
    reply = next(
        (m for m in messages if m.direction == OUT and not m.by_bearscope and m.sent_at >= first_in.sent_at),
        None,
    )
    return _seconds(first_in.sent_at, reply.sent_at) if reply else None


def customer_wait_seconds(messages: Sequence[ThreadMessage], resolved_at: datetime) -> int:
    """Time the customer spent waiting: from each unanswered customer message to the next reply.

    A wait starts at the first customer message after a reply (follow-ups do not restart it) and
    ends at the next outbound message, auto-replies included (the customer got an answer), or at
    resolution if nobody answered.
    """
    total, waiting_since = 0, None
    for message in messages:
        if message.sent_at > resolved_at:
            break
        if message.direction == IN and waiting_since is None:
            waiting_since = message.sent_at
        elif message.direction == OUT and waiting_since is not None:
            total += _seconds(waiting_since, message.sent_at)
            waiting_since = None
    if waiting_since is not None:
        total += _seconds(waiting_since, resolved_at)
    return total


def transfers_count(states: Sequence[AssignmentState]) -> int:
    """Changes of assigned team or user, in order; the first assignment and unassigning are not transfers."""
    count, last = 0, None
    for state in states:
        if not state.teams and not state.users:
            continue
        key = (frozenset(state.teams), frozenset(state.users))
        if last is not None and key != last:
            count += 1
        last = key
    return count


def effort_score(
    *, customer_messages: int, transfers: int, reopens: int, customer_wait_seconds: int
) -> Decimal:
    """1.0 to 5.0, one decimal; the formula is in docs/insights.md."""
    extra_messages = min(max(customer_messages - 1, 0), EFFORT_MAX_EXTRA_MESSAGES)
    wait_hours = min(customer_wait_seconds / 3600, EFFORT_MAX_WAIT_HOURS)
    score = (
        EFFORT_BASE
        + EFFORT_PER_EXTRA_MESSAGE * extra_messages
        + EFFORT_PER_TRANSFER * min(transfers, EFFORT_MAX_TRANSFERS)
        + EFFORT_PER_REOPEN * min(reopens, EFFORT_MAX_REOPENS)
        + wait_hours / EFFORT_WAIT_HOURS_PER_POINT
    )
    return Decimal(str(round(min(score, EFFORT_MAX), 1)))


def metrics_compute(
    *,
    messages: Sequence[ThreadMessage],
    states: Sequence[AssignmentState],
    created_at: datetime | None,
    resolved_at: datetime,
    reopens: int,
    auto_reply_recorded: bool = False,
) -> Metrics:
    """Every computed number of one resolution; messages after `resolved_at` belong to a later one."""
    thread = sorted((m for m in messages if m.sent_at <= resolved_at), key=lambda m: m.sent_at)
    start = created_at or (thread[0].sent_at if thread else None)
    customer = sum(1 for m in thread if m.direction == IN)
    agent = sum(1 for m in thread if m.direction == OUT and not m.by_bearscope)
    transfers = transfers_count(states)
    wait = customer_wait_seconds(thread, resolved_at)
    return Metrics(
        first_response_seconds=first_response_seconds(thread),
        resolution_seconds=_seconds(start, resolved_at) if start else None,
        customer_messages=customer,
        agent_messages=agent,
        transfers=transfers,
        reopens=reopens,
        customer_wait_seconds=wait,
        auto_reply_involved=auto_reply_recorded or any(m.by_bearscope for m in thread),
        effort_score=effort_score(
            customer_messages=customer, transfers=transfers, reopens=reopens, customer_wait_seconds=wait
        ),
    )
