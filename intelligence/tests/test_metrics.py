"""Metric formulas on hand-built threads: first response, waits, transfers, reopens, effort."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from intelligence.metrics import (
    AssignmentState,
    ThreadMessage,
    customer_wait_seconds,
    effort_score,
    first_response_seconds,
    metrics_compute,
    transfers_count,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def msg(direction: str, minutes: float, *, bot: bool = False) -> ThreadMessage:
    return ThreadMessage(direction=direction, sent_at=at(minutes), by_bearscope=bot)


def test_first_response_skips_bearscope_auto_replies():
    thread = [msg("in", 0), msg("out", 1, bot=True), msg("in", 5), msg("out", 30)]
    assert first_response_seconds(thread) == 30 * 60


def test_first_response_is_none_without_a_team_reply():
    assert first_response_seconds([msg("in", 0), msg("in", 3)]) is None
    assert first_response_seconds([msg("out", 0)]) is None


def test_customer_wait_adds_each_unanswered_stretch_and_follow_ups_do_not_restart_it():
    # waits: 0 -> 20 (follow-up at 10 inside it), then 60 -> 90, then 120 -> resolution at 150
    thread = [msg("in", 0), msg("in", 10), msg("out", 20), msg("in", 60), msg("out", 90), msg("in", 120)]
    assert customer_wait_seconds(thread, at(150)) == (20 + 30 + 30) * 60


def test_customer_wait_ignores_messages_after_resolution():
    thread = [msg("in", 0), msg("out", 10), msg("in", 200)]
    assert customer_wait_seconds(thread, at(100)) == 10 * 60


def test_transfers_count_team_and_user_changes_but_not_first_assignment_or_unassigning():
    states = [
        AssignmentState(teams=(), users=()),
        AssignmentState(teams=("care",), users=()),  # first assignment
        AssignmentState(teams=("care",), users=("ana",)),  # transfer 1 (user picked it up)
        AssignmentState(teams=("care",), users=("ana",)),  # a duplicate payload
        AssignmentState(teams=(), users=()),  # unassigned
        AssignmentState(teams=("billing",), users=("ben",)),  # transfer 2 (team and user at once)
        AssignmentState(teams=("billing",), users=("ben",)),
    ]
    assert transfers_count(states) == 2


def test_effort_score_formula_and_cap():
    assert effort_score(customer_messages=1, transfers=0, reopens=0, customer_wait_seconds=0) == Decimal(
        "1.0"
    )
    # 1 + 0.5*2 + 0.75*1 + 1*1 + 6h/12 = 4.25 -> 4.2 (Python's round half to even on 4.25)
    assert effort_score(
        customer_messages=3, transfers=1, reopens=1, customer_wait_seconds=6 * 3600
    ) == Decimal("4.2")
    assert effort_score(
        customer_messages=30, transfers=9, reopens=9, customer_wait_seconds=99 * 3600
    ) == Decimal("5.0")


def test_metrics_compute_on_a_reopened_transferred_thread():
    thread = [
        msg("in", 0),
        msg("out", 2, bot=True),  # auto-reply
        msg("out", 45),
        msg("in", 60),
        msg("out", 120),
        msg("in", 500),  # after this resolution: belongs to the next one
    ]
    states = [AssignmentState(("care",), ("ana",)), AssignmentState(("returns",), ("ana",))]
    metrics = metrics_compute(
        messages=thread, states=states, created_at=at(-5), resolved_at=at(180), reopens=1
    )
    assert metrics.first_response_seconds == 45 * 60
    assert metrics.resolution_seconds == 185 * 60
    assert (metrics.customer_messages, metrics.agent_messages) == (2, 2)
    assert (metrics.transfers, metrics.reopens) == (1, 1)
    assert metrics.customer_wait_seconds == (2 + 60) * 60
    assert metrics.auto_reply_involved is True
    # 1 + 0.5*1 + 0.75*1 + 1*1 + (62/60)/12 = 3.336 -> 3.3
    assert metrics.effort_score == Decimal("3.3")
