"""Building the classifier prompt: the static, cacheable part first, then the conversation."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from bearscope.llm import output_schema
from bearscope.models import PromptVersion
from bearscope.prompt_versions import prompt_version_record
from kustomer.models import Conversation, Message

from .models import BusinessRule, ClassifierSettings, ComplexityLevel, Intent, PriorityLevel, PromptExample

SYSTEM_TEMPLATE = (Path(__file__).parent / "prompts" / "system.md").read_text()
PROMPT_KIND = "classifier"
EXAMPLES_PER_INTENT = 3


class Entities(pydantic.BaseModel):
    order_number: str | None = None
    email: str | None = None


# "EN" or " es" is still a language; anything else is invalid output, which goes to triage.
LanguageCode = Annotated[
    str,
    pydantic.BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    pydantic.Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, two lowercase letters"),
]


class ClassifierOutput(pydantic.BaseModel):
    """The answer's shape; taxonomy membership is checked separately against the live taxonomy."""

    intent: str
    sub_intent: str | None = None
    priority: str
    complexity: str
    confidence: float = pydantic.Field(ge=0, le=1)
    rationale: str = ""
    entities: Entities = pydantic.Field(default_factory=Entities)
    language: LanguageCode | None
    # Neutral first: it is what the local Messages API server answers when a test asks for nothing else.
    sentiment: Literal["neutral", "negative", "positive"]


@dataclass(frozen=True)
class StaticPrompt:
    text: str
    prompt_version: PromptVersion
    schema: dict

    @property
    def version(self) -> str:
        return self.prompt_version.version


def _bullets(lines: list[str]) -> str:
    return "\n".join(lines) if lines else "(none)"


def example_json(*, message: str, intent: str, sub_intent: str | None) -> str:
    """One example as a line of JSON: newlines escaped, and `<` too, so no text can end the block
    or start a line (a heading) of its own."""
    line = json.dumps({"message": message, "intent": intent, "sub_intent": sub_intent}, ensure_ascii=False)
    return line.replace("<", "\\u003c").replace(">", "\\u003e")


def _examples(intents: list[Intent]) -> str:
    """The intents' example messages and the examples admins promoted, and nothing else."""
    lines = [
        example_json(message=example, intent=intent.key, sub_intent=None)
        for intent in intents
        for example in intent.example_list[:EXAMPLES_PER_INTENT]
    ]
    active = {i.pk for i in intents}
    promoted = PromptExample.objects.filter(active=True, intent__in=active)
    promoted = promoted.select_related("intent", "sub_intent")
    lines += [
        example_json(
            message=e.text,
            intent=e.intent.key,
            sub_intent=e.sub_intent.key if e.sub_intent and e.sub_intent.active else None,
        )
        for e in promoted.order_by("intent__position", "intent__key", "pk")
    ]
    return "\n".join(lines)


def static_prompt_build(config: ClassifierSettings | None = None) -> StaticPrompt:
    """Role, taxonomy, rules and approved examples, stored once as a PromptVersion.

    It reads only what an admin edits (taxonomy, rules, examples): a review changes nothing. `config`
    is taken for callers that hold the settings; no setting changes the text today.
    """
    intents = list(Intent.objects.filter(active=True, parent__isnull=True).prefetch_related("sub_intents"))
    intent_lines = []
    for intent in intents:
        intent_lines.append(f"- {intent.key}: {intent.name}. {intent.description}".rstrip())
        for sub in intent.sub_intents.all():
            if sub.active:
                intent_lines.append(f"    - {sub.key}: {sub.name}. {sub.description}".rstrip())
    priorities = list(PriorityLevel.objects.all())
    complexities = list(ComplexityLevel.objects.all())
    rules = BusinessRule.objects.filter(active=True)
    text = SYSTEM_TEMPLATE.format(
        intents=_bullets(intent_lines),
        priorities=_bullets([f"- {p.key}: {p.name}. {p.description}".rstrip() for p in priorities]),
        complexities=_bullets([f"- {c.key}: {c.name}. {c.description}".rstrip() for c in complexities]),
        rules=_bullets([f"{n}. {r.text}" for n, r in enumerate(rules, 1)]),
        examples=_examples(intents),
    )
    sub_keys = sorted({s.key for i in intents for s in i.sub_intents.all() if s.active})
    schema = output_schema(
        ClassifierOutput,
        enums={
            "intent": [i.key for i in intents],
            "sub_intent": sub_keys,
            "priority": [p.key for p in priorities],
            "complexity": [c.key for c in complexities],
        },
    )
    row = prompt_version_record(kind=PROMPT_KIND, text=text)
    return StaticPrompt(text=text, prompt_version=row, schema=schema)


def prompt_version_current(config: ClassifierSettings | None = None) -> PromptVersion:
    """The classifier's prompt version as the taxonomy, rules and examples stand now (stored if new)."""
    return static_prompt_build(config).prompt_version


def conversation_text(
    conversation: Conversation, budget: int, *, clean: Callable[[str], str] = str
) -> str:
    """Channel, subject and the customer's messages, oldest first, cut to `budget` characters.

    `clean` (the conversation's redactor) runs on the subject and on each message before the cut.
    """
    messages = conversation.messages.filter(direction=Message.Direction.IN).order_by("sent_at", "pk")
    first = messages.first()
    channel = (
        (conversation.channels or [first.channel if first else ""])[0]
        if (conversation.channels or first)
        else ""
    )
    subject = clean(conversation.name or (first.subject if first else ""))
    parts = [f"Channel: {channel or 'unknown'}", f"Subject: {subject or '(none)'}", "Customer messages:"]
    used = sum(len(p) for p in parts)
    for message in messages:
        remaining = budget - used
        if remaining <= 0:
            parts.append("[later messages cut]")
            break
        body = clean(message.body.strip())
        if len(body) > remaining:
            body = body[:remaining] + " [cut]"
        parts.append(f"---\n{body}")
        used += len(body)
    return "\n".join(parts)
