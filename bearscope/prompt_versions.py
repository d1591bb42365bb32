"""Every system prompt kept whole: one PromptVersion row per distinct text, and what changed from the last."""

import difflib
import hashlib
import re

from django.db import IntegrityError, transaction

from .models import PromptVersion

# A prompt's sections start with a Markdown heading of level one.
SECTION = re.compile(r"^# (.+)$", re.MULTILINE)
PREAMBLE = "Instructions"


def _sections(text: str) -> dict[str, str]:
    parts = SECTION.split(text)
    sections = {PREAMBLE: parts[0]}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = body
    return sections


def prompt_changes(*, previous: str | None, text: str) -> str:
    """Which sections differ between two prompts, in words ("Business rules changed; Examples added")."""
    if previous is None:
        return "First version."
    before, after = _sections(previous), _sections(text)
    notes = [f"{title} changed" for title in after if title in before and before[title] != after[title]]
    notes += [f"{title} added" for title in after if title not in before]
    notes += [f"{title} removed" for title in before if title not in after]
    return "; ".join(notes) + "." if notes else "Whitespace only."


def prompt_version_record(*, kind: str, text: str) -> PromptVersion:
    """The stored version of `text` (created the first time this text is seen); safe under concurrency."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    found = PromptVersion.objects.filter(kind=kind, sha256=digest).first()
    if found:
        return found
    last = PromptVersion.objects.filter(kind=kind).order_by("-pk").first()
    try:
        with transaction.atomic():
            return PromptVersion.objects.create(
                kind=kind,
                sha256=digest,
                text=text,
                changed=prompt_changes(previous=last.text if last else None, text=text),
            )
    except IntegrityError:
        return PromptVersion.objects.get(kind=kind, sha256=digest)


def prompt_diff_html(*, version: PromptVersion) -> str:
    """A side-by-side HTML table of the changed lines against the previous version (difflib)."""
    previous = version.previous()
    if previous is None:
        return ""
    return difflib.HtmlDiff(wrapcolumn=90).make_table(
        previous.text.splitlines(),
        version.text.splitlines(),
        fromdesc=f"previous ({previous.version}, {previous.created_at:%Y-%m-%d %H:%M})",
        todesc=f"this version ({version.version})",
        context=True,
        numlines=2,
    )
