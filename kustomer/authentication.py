"""Webhook signature check: HMAC-SHA256 of the raw body, verified before anything is parsed."""

import hashlib
import hmac

from django.conf import settings
from django.http.request import RawPostDataException
from rest_framework import authentication, exceptions, status

SIGNATURE_HEADERS = ("HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE", "HTTP_X_KUSTOMER_SIGNATURE")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is larger than the webhook limit."
    default_code = "payload_too_large"


class KustomerWebhook:
    """The authenticated sender: Kustomer's outbound webhook (there is no user)."""

    is_authenticated = True


def signature_expected(body: bytes, secret: str) -> str:
    """The lowercase hex HMAC-SHA256 of `body` keyed with `secret`, as Kustomer sends it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(request) -> bytes:
    """The raw body, refused with 413 above the configured limit before it is read whole."""
    limit = settings.KUSTOMER_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge()
    try:
        body = request._request.body
    except (RawPostDataException, ValueError) as exc:
        # Django's own upload cap (RequestDataTooBig is a ValueError subclass).
        raise PayloadTooLarge() from exc
    if len(body) > limit:
        raise PayloadTooLarge()
    return body


class KustomerSignatureAuthentication(authentication.BaseAuthentication):
    """Accepts a request only if it carries a valid signature for the configured secret."""

    def authenticate(self, request):
        secret = settings.KUSTOMER_WEBHOOK_SECRET
        body = webhook_body(request)
        if not secret:
            raise exceptions.AuthenticationFailed("Webhook secret is not configured; every event is refused.")
        given = next((request.META[h] for h in SIGNATURE_HEADERS if request.META.get(h)), "")
        if not given:
            raise exceptions.AuthenticationFailed("Missing signature header.")
        expected = signature_expected(body, secret)
        given = given.strip().lower()
        # compare_digest raises TypeError on non-ASCII text, which a header can carry.
        if not given.isascii() or not hmac.compare_digest(expected, given):
            raise exceptions.AuthenticationFailed("Signature does not match.")
        return (KustomerWebhook(), None)

    def authenticate_header(self, request) -> str:
        # A value here makes DRF answer 401 rather than 403.
        return 'HMAC-SHA256 header="X-Kustomer-Webhook-Signature"'
