"""Reply templates: {variable} placeholders, only declared ones, rendered in one pass."""

import re
from collections.abc import Iterable, Mapping

from bearscope.exceptions import BearScopeError

# The only values a reply can contain besides the template's own text: facts read from Kustomer's
# order record, never anything the customer wrote.
AVAILABLE_VARIABLES = ("order_number", "order_status", "carrier", "tracking_url", "estimated_delivery")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
STRAY_BRACE = re.compile(r"[{}]")


class TemplateError(BearScopeError, ValueError):
    """A template is not usable; the message says why in the admin's words."""


class MissingVariable(TemplateError):
    """A declared variable has no value for this reply."""

    def __init__(self, name: str) -> None:
        super().__init__(f"No value for {{{name}}}.")
        self.name = name


def template_check(text: str, *, declared: Iterable[str]) -> list[str]:
    """The variables `text` uses; raises TemplateError for undeclared, unknown or malformed ones."""
    declared = list(declared)
    unknown = [name for name in declared if name not in AVAILABLE_VARIABLES]
    if unknown:
        raise TemplateError(
            f"Unknown variable {', '.join(unknown)}; available: {', '.join(AVAILABLE_VARIABLES)}."
        )
    used = PLACEHOLDER.findall(text)
    undeclared = sorted({name for name in used if name not in declared})
    if undeclared:
        raise TemplateError(
            f"Undeclared variable {', '.join('{' + n + '}' for n in undeclared)}: declare it first."
        )
    if STRAY_BRACE.search(PLACEHOLDER.sub("", text)):
        raise TemplateError("A brace that is not part of a {variable}: remove it or fix the variable name.")
    return used


def template_render(text: str, *, declared: Iterable[str], values: Mapping[str, str | None]) -> str:
    """Substitute in one pass, so a value that looks like a placeholder stays as it is."""
    template_check(text, declared=declared)

    def substitute(match: re.Match) -> str:
        value = values.get(match.group(1))
        if value is None or not str(value).strip():
            raise MissingVariable(match.group(1))
        return str(value)

    return PLACEHOLDER.sub(substitute, text)
