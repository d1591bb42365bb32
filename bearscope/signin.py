"""The sign-in throttle's view of a request: the client's address behind proxies, and whole-address blocks."""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the entry TRUSTED_PROXY_COUNT from the right of X-Forwarded-For.

    Each trusted proxy appends the address it was called from, so only the last
    TRUSTED_PROXY_COUNT entries are facts; anything to their left was written by the client and
    is ignored (a forged header cannot choose the address a lockout applies to).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote or None
    entries = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not entries:
        return remote or None
    # Fewer entries than proxies: the request skipped a proxy; the leftmost is the nearest fact.
    chosen = entries[-trusted] if len(entries) >= trusted else entries[0]
    return _address(chosen) or remote or None


class AddressAwareHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus: an address failing for many usernames is blocked whole.

    Lockouts stay per username and address (AXES_LOCKOUT_PARAMETERS), so failures from one address
    never lock the user out from another; guessing across usernames from one address is caught here.
    """

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        if not address:
            return failures
        since = timezone.now() - settings.AXES_COOLOFF_TIME
        usernames = (
            AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since)
            .values("username")
            .distinct()
            .count()
        )
        if usernames >= settings.LOGIN_ADDRESS_USERNAME_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures
