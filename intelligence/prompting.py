"""Building the analysis prompt: taxonomies and policy first (cacheable), then the whole thread."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pydantic

from bearscope.llm import output_schema
from bearscope.models import PromptVersion
from bearscope.prompt_versions import prompt_version_record
from kustomer.models import Conversation, Message

from .models import AgentPolicy, ResolutionMethod, RootCause

SYSTEM_TEMPLATE = (Path(__file__).parent / "prompts" / "system.md").read_text()
THREAD_CHAR_BUDGET = 12_000
QUOTE_MAX = 200
PROMPT_KIND = "insights"


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
    prompt_version: PromptVersion
    schema: dict


def _lines(entries) -> str:
    lines = [f"- {e.key}: {e.name}. {e.description}".rstrip() for e in entries]
    return "\n".join(lines) if lines else "(none)"


def static_prompt_build() -> StaticPrompt:
    """Instructions, the active taxonomies and the policy, stored once as a PromptVersion."""
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
    row = prompt_version_record(kind=PROMPT_KIND, text=text)
    return StaticPrompt(text=text, prompt_version=row, schema=schema)


def thread_text(
    conversation: Conversation, budget: int = THREAD_CHAR_BUDGET, *, clean: Callable[[str], str] = str
) -> str:
    """Every message, oldest first, labelled Customer or Team, cut to `budget` characters.

    `clean` (the conversation's redactor) runs on the subject and on each message before the cut.
    """
    parts = [f"Subject: {clean(conversation.name) or '(none)'}"]
    used = len(parts[0])
    for message in conversation.messages.order_by("sent_at", "pk"):
        who = "Customer" if message.direction == Message.Direction.IN else "Team"
        body = clean(message.body.strip())
        remaining = budget - used
        if remaining <= 0:
            parts.append("[later messages cut]")
            break
        if len(body) > remaining:
            body = body[:remaining] + " [cut]"
        parts.append(f"--- {who}:\n{body}")
        used += len(body)
    return "\n".join(parts)
