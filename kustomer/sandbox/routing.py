"""Routing and paging helpers shared by the /v1/ API and the /_sandbox/ control API."""

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .errors import bad_request
from .traffic import FaultRule

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# Users, teams and search answer up to 500 a page.
LARGE_PAGE_SIZE = 500

Events = list[dict[str, Any]]
Handler = Callable[..., tuple[int, Any, Events]]
Response = tuple[int, Any, dict[str, str]]


@dataclass
class Raw:
    """An answer that is not JSON (a CSV file): its bytes and content type."""

    body: bytes
    content_type: str


def compile_route(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [str(default)])[0]
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer.", code="invalid_parameter") from exc


def paginate(
    items: list[dict[str, Any]],
    path: str,
    query: dict[str, list[str]],
    max_size: int = MAX_PAGE_SIZE,
    page_cap: int | None = None,
) -> dict[str, Any]:
    """A page of `items` with Kustomer's links (relative paths) and meta; pages past `page_cap` are empty."""
    page = query_int(query, "page", 1)
    size = query_int(query, "pageSize", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise bad_request("page must be 1 or more.", code="invalid_parameter")
    if not 1 <= size <= max_size:
        raise bad_request(f"pageSize must be between 1 and {max_size}.", code="invalid_parameter")
    total_pages = max(1, math.ceil(len(items) / size))
    last_page = min(total_pages, page_cap) if page_cap else total_pages

    def link(number: int) -> str:
        return f"{path}?page={number}&pageSize={size}"

    return {
        "data": items[(page - 1) * size : page * size] if page <= last_page else [],
        "links": {
            "self": link(page),
            "first": link(1),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last_page else None,
        },
        "meta": {"pageSize": size, "page": page, "totalPages": total_pages, "total": len(items)},
    }


def seconds_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def fault_body(rule: FaultRule) -> dict[str, Any]:
    phrase = HTTPStatus(rule.status).phrase
    code = "rate_limited" if rule.status == 429 else "server_error"
    detail = "Rate limit exceeded" if rule.status == 429 else f"{phrase} (injected by the sandbox)"
    if rule.body_shape == "legacy":
        return {"errors": [{"code": code, "message": detail, "meta": {}}]}
    return {"errors": [{"status": rule.status, "code": code, "title": phrase, "detail": detail}]}


def read_json(environ: dict[str, Any]) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"Body is not valid JSON: {exc}", code="invalid_json") from exc


def body_object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object.")
    return body
