"""Test helpers: signing and posting webhook payloads the way Kustomer does."""

import json

from django.conf import settings
from django.test import Client

from kustomer.authentication import signature_expected

WEBHOOK_URL = "/webhooks/kustomer/"


def post_webhook(
    client: Client,
    payload: dict | bytes,
    *,
    secret: str | None = None,
    header: str = "HTTP_X_KUSTOMER_WEBHOOK_SIGNATURE",
    signature: str | None = None,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sig = (
        signature
        if signature is not None
        else signature_expected(body, secret or settings.KUSTOMER_WEBHOOK_SECRET)
    )
    headers = {header: sig} if sig else {}
    return client.generic("POST", WEBHOOK_URL, body, content_type="application/json", **headers)
