"""The Kustomer webhook endpoint: verify, store once, enqueue, answer."""

import json
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .authentication import KustomerSignatureAuthentication
from .payloads import envelope_org, text_clean
from .services import webhook_event_receive

logger = logging.getLogger(__name__)

# Kustomer retries on its own schedule; the header tells any other sender when to come back.
DATABASE_RETRY_AFTER_SECONDS = 30


def envelope_parse(body: bytes) -> dict:
    """The webhook envelope, or ParseError (400) naming what is wrong."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"Body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("Body is nested too deeply to be a Kustomer event.") from exc
    if not isinstance(envelope, dict):
        raise ParseError("Body must be a JSON object.")
    missing = [key for key in ("id", "name", "data") if key not in envelope]
    if missing:
        raise ParseError(f"Body lacks required fields: {', '.join(missing)}.")
    for field in ("id", "name"):
        if not _short_text(envelope[field]):
            raise ParseError(
                f"Field '{field}' must be a non-empty string of at most 128 characters, "
                "without NUL or unpaired surrogate characters."
            )
    if not isinstance(envelope["data"], dict):
        raise ParseError("Field 'data' must be a JSON object.")
    org = envelope.get("org", "")
    if not isinstance(org, str) or len(org) > 64:
        raise ParseError("Field 'org' must be a string of at most 64 characters.")
    return envelope


def _short_text(value) -> bool:
    """A string usable as a stored key: they are compared as sent, so nothing is cleaned away."""
    return isinstance(value, str) and bool(value.strip()) and len(value) <= 128 and text_clean(value) == value


class KustomerWebhookApi(APIView):
    """POST /webhooks/kustomer/ — Kustomer's outbound webhooks land here."""

    authentication_classes = [KustomerSignatureAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list[type[BaseThrottle]] = []

    def post(self, request):
        body = request._request.body
        envelope = envelope_parse(body)
        expected_org = settings.KUSTOMER_ORG_ID
        if expected_org and envelope_org(envelope) != expected_org:
            # A signed event from another org (a shared secret, a misrouted webhook): not ours to keep.
            logger.warning(
                "Webhook event %s refused: org %r is not the configured one",
                envelope["id"],
                envelope_org(envelope),
            )
            return Response(
                {
                    "status": "refused",
                    "event_id": envelope["id"],
                    "detail": "This endpoint accepts events from one Kustomer org only (KUSTOMER_ORG_ID).",
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        try:
            event, created = webhook_event_receive(envelope=envelope, body=body, meta=request.META)
        except (OperationalError, InterfaceError) as exc:
            # Not stored, so not acknowledged: a retryable 503, never a 500, so the sender tries again.
            logger.error("Webhook event %s not stored, database unavailable: %s", envelope["id"], exc)
            return Response(
                {
                    "status": "unavailable",
                    "event_id": envelope["id"],
                    "detail": "The event could not be stored because the database is unavailable; "
                    "send it again later.",
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            )
        answer = {"status": "accepted" if created else "duplicate", "event_id": event.event_id}
        if created and event.status == event.Status.IGNORED:
            answer["ignored"] = event.reason
        return Response(answer, status=status.HTTP_200_OK)
