"""The guardrail chain: every check between a classification and a reply, in order, each a small function."""

from .chain import Chain, Context, Outcome, Verdict
from .checks import LOCAL_CHECKS, REMOTE_CHECKS, guardrails_run, policy_for

__all__ = [
    "LOCAL_CHECKS",
    "REMOTE_CHECKS",
    "Chain",
    "Context",
    "Outcome",
    "Verdict",
    "guardrails_run",
    "policy_for",
]
