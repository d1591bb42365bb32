"""Links to a conversation in the org's Kustomer app (KUSTOMER_APP_URL), for every page that shows one."""

from urllib.parse import quote

from django.conf import settings


def conversation_url(kustomer_id: str) -> str:
    """The conversation in Kustomer's app; empty when KUSTOMER_APP_URL is not set or there is no id."""
    base = settings.KUSTOMER_APP_URL.rstrip("/")
    if not base or not kustomer_id:
        return ""
    return f"{base}/app/conversations/{quote(kustomer_id, safe='')}"
