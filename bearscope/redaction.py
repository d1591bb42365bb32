"""Keeping the API keys, the webhook secret and Django's secret key out of logs and stored errors."""

import logging

from django.conf import settings

SECRET_SETTINGS = ("KUSTOMER_API_KEY", "ANTHROPIC_API_KEY", "KUSTOMER_WEBHOOK_SECRET", "SECRET_KEY")
REDACTED = "[redacted]"
# A shorter value would blank ordinary words out of every line; no real key is this short.
MIN_SECRET_LENGTH = 8


def _secrets() -> list[str]:
    if not settings.configured:
        return []
    values = {str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS}
    # Longest first, so a secret containing another is replaced whole.
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def secrets_redact(text: str) -> str:
    """`text` with every configured secret replaced by [redacted]."""
    for secret in _secrets():
        text = text.replace(secret, REDACTED)
    return text


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack so no configured secret reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _secrets()
        if not secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the redacted traceback is what they print.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in secrets:
            message = message.replace(secret, REDACTED)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, REDACTED)
            if record.stack_info:
                record.stack_info = record.stack_info.replace(secret, REDACTED)
        record.msg, record.args = message, None
        return True
