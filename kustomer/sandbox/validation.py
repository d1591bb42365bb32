"""Checks of what a PATCH may set on a conversation: custom attribute suffixes and standard attributes."""

import re
from typing import Any

from . import resources
from .errors import bad_request

CUSTOM_KEY = re.compile(r"^[a-z][A-Za-z0-9]*(Str|Txt|Num|Bool|At|Url|Id)$")
STR_LIMIT = 1024
STATUSES = ("open", "snoozed", "done")
PATCHABLE = {"custom", "status", "priority", "tags", "name", "assignedUsers", "assignedTeams", "defaultLang"}


def custom_value_check(key: str, value: Any) -> None:
    """Raise 400 unless `value` fits the type named by the custom attribute's suffix."""
    pointer = f"/custom/{key}"
    match = CUSTOM_KEY.match(key)
    if not match:
        raise bad_request(
            f"Custom attribute '{key}' must end in a type suffix (Str, Txt, Num, Bool, At, Url, Id).", pointer
        )
    if value is None:
        return
    suffix = match.group(1)
    if suffix == "Num":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif suffix == "Bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise bad_request(f"Custom attribute '{key}' has the wrong type for its '{suffix}' suffix.", pointer)
    if suffix == "Str" and len(value) > STR_LIMIT:
        raise bad_request(f"Custom attribute '{key}' is longer than {STR_LIMIT} characters.", pointer)
    if suffix == "At":
        try:
            resources.parse_iso(value)
        except ValueError as exc:
            raise bad_request(f"Custom attribute '{key}' is not an ISO 8601 timestamp.", pointer) from exc


def patch_value_check(key: str, value: Any) -> None:
    pointer = f"/{key}"
    if key == "status" and value not in STATUSES:
        raise bad_request(f"status must be one of {', '.join(STATUSES)}.", pointer)
    if key == "priority" and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5):
        raise bad_request("priority must be an integer from 1 to 5.", pointer)
    if key in ("tags", "assignedUsers", "assignedTeams") and (
        not isinstance(value, list) or not all(isinstance(item, str) for item in value)
    ):
        raise bad_request(f"{key} must be a list of strings.", pointer)
    if key in ("name", "defaultLang") and not isinstance(value, str):
        raise bad_request(f"{key} must be a string.", pointer)
