"""Template filters that show people by name, never by Kustomer id: `{{ message.created_by|agent_name }}`."""

from django import template

from ..selectors import people_names

register = template.Library()


@register.filter
def agent_name(user_id: str) -> str:
    """The agent's name for a Kustomer user id, marked unknown until synced; empty for no id."""
    return people_names(user_ids=[user_id])[user_id].name if user_id else ""
