"""What a guardrail check sees (Context), answers (Verdict), and what the chain records (Chain, Outcome)."""

from dataclasses import dataclass, field

from classification.models import Classification, TriageReview
from kustomer.client import KustomerClient
from kustomer.models import Message

from ..models import AutoReplyPolicy, AutoReplySettings, Mode
from ..orders import OrderFacts
from ..reasons import Check

SKIPPED = "not run: an earlier check blocked"


@dataclass(frozen=True)
class Verdict:
    """A check's answer: passed or not, why in words, and the BlockReason code when it blocks (default:
    the check's own name)."""

    passed: bool
    reason: str
    code: str = ""


@dataclass
class Chain:
    """The checks run so far; the first failure names the decision's reason."""

    checks: list[dict] = field(default_factory=list)

    def record(self, check: Check, verdict: Verdict) -> bool:
        entry = {"check": check.value, "passed": verdict.passed, "reason": verdict.reason}
        if not verdict.passed:
            entry["code"] = verdict.code or check.value
        self.checks.append(entry)
        return verdict.passed

    def skip(self, *checks: Check) -> None:
        for check in checks:
            self.checks.append({"check": check.value, "passed": None, "reason": SKIPPED})

    @property
    def blocked_by(self) -> str:
        failed = next((c for c in self.checks if c["passed"] is False), None)
        return failed["code"] if failed else ""


@dataclass
class Outcome:
    """The decision the chain came to: the reply it would make, or why not."""

    chain: Chain
    policy: AutoReplyPolicy | None = None
    mode: str = Mode.OFF
    channel: str = ""
    subject: str = ""
    body: str = ""
    facts: OrderFacts | None = None

    @property
    def reply(self) -> bool:
        return not self.chain.blocked_by


@dataclass
class Context:
    """What every check reads; checks that find something for the reply (order facts) set it on `outcome`."""

    classification: Classification
    config: AutoReplySettings
    client: KustomerClient
    policy: AutoReplyPolicy | None
    inbound: Message | None
    outcome: Outcome
    values: dict[str, str | None] = field(default_factory=dict)
    # Set when the chain runs on a reviewer's values; `classification` then carries them.
    review: TriageReview | None = None

    @property
    def conversation(self):
        return self.classification.conversation
