"""Pytest fixtures for the local Messages API stand-in: a fresh server per test and a real SDK client."""

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from bearscope.testing.messages_server import MessagesServer

__all__ = ["anthropic_client", "make_messages_server", "messages_server"]

TEST_API_KEY = "test"


def _point_settings_at(request: pytest.FixtureRequest, server: MessagesServer) -> None:
    # pytest-django's `settings` restores itself after the test; without Django there is nothing to set.
    try:
        settings = request.getfixturevalue("settings")
    except (pytest.FixtureLookupError, pytest.skip.Exception):
        return
    settings.ANTHROPIC_API_KEY = TEST_API_KEY
    settings.ANTHROPIC_BASE_URL = server.base_url


@pytest.fixture
def make_messages_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., MessagesServer]]:
    """A factory for servers with custom options (`latency_ms`, `keyword_intents`, ...).

    Each server is stopped after the test; the settings point at the last one made.
    """
    servers: list[MessagesServer] = []

    def make(**options: Any) -> MessagesServer:
        server = MessagesServer(**options)
        servers.append(server)
        _point_settings_at(request, server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def messages_server(make_messages_server: Callable[..., MessagesServer]) -> MessagesServer:
    """A fresh MessagesServer with default options; ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL point at it."""
    return make_messages_server()


@pytest.fixture
def anthropic_client(messages_server: MessagesServer) -> Iterator[anthropic.Anthropic]:
    """The real SDK client against `messages_server`: no retries, 5 s timeout."""
    client = anthropic.Anthropic(
        api_key=TEST_API_KEY, base_url=messages_server.base_url, max_retries=0, timeout=5
    )
    yield client
    client.close()
