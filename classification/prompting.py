"""Building the classifier prompt: the static, cacheable part first, then the conversation."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from bearscope.llm import output_schema
from kustomer.models import Conversation, Message

from .models import BusinessRule, Classification, ClassifierSettings, ComplexityLevel, Intent, PriorityLevel

SYSTEM_TEMPLATE = (Path(__file__).parent / "prompts" / "system.md").read_text()


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
    version: str
    schema: dict


def _bullets(lines: list[str]) -> str:
    return "\n".join(lines) if lines else "(none)"


def static_prompt_build(config: ClassifierSettings) -> StaticPrompt:
    """Role, taxonomy, rules and reviewed examples; its hash is the prompt version."""
    intents = list(Intent.objects.filter(active=True, parent__isnull=True).prefetch_related("sub_intents"))
    intent_lines = []
    for intent in intents:
        intent_lines.append(f"- {intent.key}: {intent.name}. {intent.description}".rstrip())
        for example in intent.example_list[:3]:
            intent_lines.append(f'    example: "{example}"')
        for sub in intent.sub_intents.all():
            if sub.active:
                intent_lines.append(f"    - {sub.key}: {sub.name}. {sub.description}".rstrip())
    priorities = list(PriorityLevel.objects.all())
    complexities = list(ComplexityLevel.objects.all())
    rules = BusinessRule.objects.filter(active=True)
    reviewed = (
        Classification.objects.filter(review__isnull=False)
        .select_related("review__intent", "review__sub_intent")
        .order_by("-review__created_at")[: config.reviewed_examples]
    )
    example_lines = [
        f'- "{c.prompt_input[:300]}" → intent {c.review.intent.key}, sub-intent '
        f"{c.review.sub_intent.key if c.review.sub_intent else 'null'}"
        for c in reviewed
    ]
    text = SYSTEM_TEMPLATE.format(
        intents=_bullets(intent_lines),
        priorities=_bullets([f"- {p.key}: {p.name}. {p.description}".rstrip() for p in priorities]),
        complexities=_bullets([f"- {c.key}: {c.name}. {c.description}".rstrip() for c in complexities]),
        rules=_bullets([f"{n}. {r.text}" for n, r in enumerate(rules, 1)]),
        examples=_bullets(example_lines),
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
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return StaticPrompt(text=text, version=version, schema=schema)



def conversation_text(conversation: Conversation, budget: int) -> str:
    """Channel, subject and the customer's messages, oldest first, cut to `budget` characters."""
    messages = conversation.messages.filter(direction=Message.Direction.IN).order_by("sent_at", "pk")
    first = messages.first()
    channel = (
        (conversation.channels or [first.channel if first else ""])[0]
        if (conversation.channels or first)
        else ""
    )
    subject = conversation.name or (first.subject if first else "")
    parts = [f"Channel: {channel or 'unknown'}", f"Subject: {subject or '(none)'}", "Customer messages:"]
    used = sum(len(p) for p in parts)
    for message in messages:
        remaining = budget - used
        if remaining <= 0:
            parts.append("[later messages cut]")
            break
        body = message.body.strip()
        if len(body) > remaining:
            body = body[:remaining] + " [cut]"
        parts.append(f"---\n{body}")
        used += len(body)
    return "\n".join(parts)
