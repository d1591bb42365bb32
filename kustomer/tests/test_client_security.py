"""The client keeps its API key on the configured host: links.next elsewhere refused, ids quoted in paths."""

import pytest

from kustomer.client import client_get
from kustomer.exceptions import KustomerError, KustomerNotFound

from .sandbox_fixtures import CUSTOMER_ID
from .test_client import control

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_messages(kustomer_sandbox) -> str:
    created = control(
        kustomer_sandbox,
        "POST",
        "scenarios/new-conversation",
        {"customer_id": CUSTOMER_ID, "text": "Where is my order?", "deliver": False},
    )
    for n in range(3):
        control(
            kustomer_sandbox,
            "POST",
            "scenarios/customer-message",
            {"conversation_id": created["conversation_id"], "text": f"follow-up {n}", "deliver": False},
        )
    return created["conversation_id"]


def _pages_read(sandbox) -> list[str]:
    return [e["path"] for e in control(sandbox, "GET", "requests")["requests"] if "/messages" in e["path"]]


def test_absolute_links_on_the_configured_host_are_followed(kustomer_sandbox, many_messages):
    control(kustomer_sandbox, "POST", "config", {"links_origin": kustomer_sandbox.base_url})
    control(kustomer_sandbox, "POST", "requests/reset")
    messages = list(client_get().paginate(f"/v1/conversations/{many_messages}/messages", page_size=2))
    assert len(messages) == 4
    assert len(_pages_read(kustomer_sandbox)) == 2


def test_links_next_to_another_host_is_refused_and_never_requested(kustomer_sandbox, many_messages):
    # The same server under another host name: were the link followed, the sandbox would log it.
    elsewhere = kustomer_sandbox.base_url.replace("127.0.0.1", "localhost")
    assert elsewhere != kustomer_sandbox.base_url
    control(kustomer_sandbox, "POST", "config", {"links_origin": elsewhere})
    control(kustomer_sandbox, "POST", "requests/reset")
    with pytest.raises(KustomerError, match="off the Kustomer API host"):
        list(client_get().paginate(f"/v1/conversations/{many_messages}/messages", page_size=2))
    assert len(_pages_read(kustomer_sandbox)) == 1


def test_ids_are_quoted_so_they_cannot_change_the_route(kustomer_sandbox):
    control(kustomer_sandbox, "POST", "requests/reset")
    # Unquoted, "../users/current" would be normalised by the HTTP stack into GET /v1/users/current.
    with pytest.raises(KustomerNotFound):
        client_get().customer_get("../users/current")
    with pytest.raises(KustomerNotFound):
        client_get().customer_get(f"{CUSTOMER_ID}?fields=all#x")
    routes = [entry["route"] for entry in control(kustomer_sandbox, "GET", "requests")["requests"]]
    assert len(routes) == 2
    assert "GET /v1/users/current" not in routes
    assert client_get().customer_get(CUSTOMER_ID)["id"] == CUSTOMER_ID
