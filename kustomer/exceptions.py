"""Typed errors of the Kustomer client and of event processing."""

from dataclasses import dataclass, field

from bearscope.exceptions import BearScopeError


@dataclass(frozen=True)
class KustomerErrorDetail:
    """One entry of Kustomer's `errors` list, whichever of its two shapes it came in."""

    code: str = ""
    message: str = ""
    pointer: str = ""
    meta: dict = field(default_factory=dict)


class KustomerError(BearScopeError):
    """A Kustomer API call failed; `status` is the HTTP status when there was a response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
        errors: tuple[KustomerErrorDetail, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.errors = errors

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        status = f" ({self.status})" if self.status else ""
        return f"{self.args[0]}{status}{': ' + where if where else ''}"


class KustomerBadRequest(KustomerError):
    """400/422: the request is wrong; never retried."""


class KustomerAuthError(KustomerError):
    """401/403: the API key is missing, wrong, expired or lacks a role."""


class KustomerTokenExpired(KustomerAuthError):
    """401 "Expired token": the API key must be replaced."""


class KustomerNotFound(KustomerError):
    """404."""


class KustomerRateLimited(KustomerError):
    """429 that outlasted our retries."""


class KustomerServerError(KustomerError):
    """5xx that outlasted our retries."""


class KustomerConnectionError(KustomerError):
    """No usable response (refused, reset, timed out) after our retries."""


class KustomerUnknownOutcome(KustomerError):
    """A create (POST/PUT send) may or may not have happened: the caller must reconcile first."""


class KustomerBudgetExhausted(KustomerError):
    """The org-wide request budget had no slot within the longest wait we allow."""


class EventProcessingFailed(BearScopeError):
    """Processing a stored webhook event failed; `retryable` says whether to let the queue retry."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
