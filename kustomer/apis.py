"""The Kustomer webhook endpoint: verify, store once, enqueue, answer."""

import json

from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .authentication import KustomerSignatureAuthentication
from .payloads import text_clean
from .services import webhook_event_receive


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
        event, created = webhook_event_receive(envelope=envelope, body=body, meta=request.META)
        answer = {"status": "accepted" if created else "duplicate", "event_id": event.event_id}
        if created and event.status == event.Status.IGNORED:
            answer["ignored"] = event.reason
        return Response(answer, status=status.HTTP_200_OK)
