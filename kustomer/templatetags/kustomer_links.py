"""`{% kustomer_link conversation %}`: "Open in Kustomer" beside a conversation, when the app URL is set."""

from django import template
from django.utils.html import format_html

from ..links import conversation_url

register = template.Library()


@register.simple_tag
def kustomer_link(conversation, label: str = "Open in Kustomer") -> str:
    """A link to the conversation (a Conversation or its Kustomer id) in Kustomer; nothing without the URL."""
    kustomer_id = getattr(conversation, "kustomer_id", conversation) or ""
    url = conversation_url(str(kustomer_id))
    if not url:
        return ""
    name = getattr(conversation, "name", "") or "this conversation"
    return format_html(
        '<a class="kustomer-link" href="{}" target="_blank" rel="noopener noreferrer" '
        'aria-label="Open {} in Kustomer (new tab)">{}</a>',
        url,
        name,
        label,
    )
