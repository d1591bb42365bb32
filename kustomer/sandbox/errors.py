"""The sandbox's HTTP error answers, in both of Kustomer's error shapes."""

from typing import Any


class ApiError(Exception):
    """An HTTP error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(kind: str) -> ApiError:
    """Kustomer's older error shape, which its 404s still use."""
    return ApiError(404, {"errors": [{"code": "not_found", "message": f"{kind} not found", "meta": {}}]})


def bad_request(detail: str, pointer: str | None = None, code: str = "invalid_attribute") -> ApiError:
    error: dict[str, Any] = {"status": 400, "code": code, "title": "Bad Request", "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    return ApiError(400, {"errors": [error]})


def too_many(detail: str, headers: dict[str, str] | None = None) -> ApiError:
    error = {"status": 429, "code": "rate_limited", "title": "Too Many Requests", "detail": detail}
    return ApiError(429, {"errors": [error]}, headers)
