"""Kustomer roles by endpoint family: which ones a sandbox refuses, and the 403 it answers then."""

from .errors import ApiError

ROLE_PREFIX = "org.permission."


def role_name(family: str) -> str:
    return ROLE_PREFIX + family


def refused_role(refused: list[str], family: str | None) -> str | None:
    """The role `family` needs if a `refused` entry covers it ("outbound_webhook" covers all its actions)."""
    if family is None:
        return None
    for entry in refused:
        entry = entry.removeprefix(ROLE_PREFIX)
        if family == entry or family.startswith(entry + "."):
            return role_name(family)
    return None


def forbidden(role: str) -> ApiError:
    error = {
        "status": 403,
        "code": "forbidden",
        "title": "Forbidden",
        "detail": f"The API key does not have the role {role}.",
        "meta": {"roles": [role]},
    }
    return ApiError(403, {"errors": [error]})
