"""Building the analysis prompt: taxonomies and policy first (cacheable), then the whole thread."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pydantic

from bearscope.llm import output_schema
from kustomer.models import Conversation, Message

from .models import AgentPolicy, ResolutionMethod, RootCause

SYSTEM_TEMPLATE = (Path(__file__).parent / "prompts" / "system.md").read_text()
THREAD_CHAR_BUDGET = 12_000
QUOTE_MAX = 200


class Indicator(pydantic.BaseModel):
    score: int = pydantic.Field(ge=1, le=5)
    evidence: str = pydantic.Field(
        default="", max_length=QUOTE_MAX, description=f"A quote, at most {QUOTE_MAX} characters."
    )


class ExtractionOutput(pydantic.BaseModel):
    """The answer's shape; taxonomy membership is checked separately against the live lists."""

    root_cause: str
    resolution_method: str
    accuracy: Indicator
    tone: Indicator
    summary: str = pydantic.Field(min_length=1, max_length=1000, description="Exactly two sentences.")


@dataclass(frozen=True)
class StaticPrompt:
    text: str
    version: str
    schema: dict


def _lines(entries) -> str:
    lines = [f"- {e.key}: {e.name}. {e.description}".rstrip() for e in entries]
    return "\n".join(lines) if lines else "(none)"


def static_prompt_build() -> StaticPrompt:
    """Instructions, the active taxonomies and the policy; its hash is the prompt version."""
    causes = list(RootCause.objects.filter(active=True))
    methods = list(ResolutionMethod.objects.filter(active=True))
    policies = [f"{n}. {p.text}" for n, p in enumerate(AgentPolicy.objects.filter(active=True), 1)]
    text = SYSTEM_TEMPLATE.format(
        root_causes=_lines(causes),
        resolution_methods=_lines(methods),
        quote_max=QUOTE_MAX,
        policy="\n".join(policies)
        if policies
        else "(no written policy: judge against common retail practice)",
    )
    schema = output_schema(
        ExtractionOutput,
        enums={"root_cause": [c.key for c in causes], "resolution_method": [m.key for m in methods]},
    )
    return StaticPrompt(text=text, version=hashlib.sha256(text.encode()).hexdigest()[:12], schema=schema)


def thread_text(conversation: Conversation, budget: int = THREAD_CHAR_BUDGET) -> str:
    """Every message, oldest first, labelled Customer or Team, cut to `budget` characters."""
    parts = [f"Subject: {conversation.name or '(none)'}"]
    used = len(parts[0])
    for message in conversation.messages.order_by("sent_at", "pk"):
        who = "Customer" if message.direction == Message.Direction.IN else "Team"
        body = message.body.strip()
        remaining = budget - used
        if remaining <= 0:
            parts.append("[later messages cut]")
            break
        if len(body) > remaining:
            body = body[:remaining] + " [cut]"
        parts.append(f"--- {who}:\n{body}")
        used += len(body)
    return "\n".join(parts)
