"""The customer's language as pages show it: its English name and code, or "Unknown"."""

from django.utils.translation import get_language_info


def language_label(code: str | None) -> str:
    """ "Spanish (es)" for "es"; a code Django has no name for stays as it is; no code is "Unknown"."""
    if not code:
        return "Unknown"
    try:
        return f"{get_language_info(code)['name']} ({code})"
    except KeyError:
        return code


def language_choices(codes: list[str]) -> list[tuple[str, str]]:
    """Filter choices for the languages seen, by name."""
    return sorted(((code, language_label(code)) for code in codes), key=lambda choice: choice[1])
