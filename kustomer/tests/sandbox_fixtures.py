"""Pytest fixtures for the Kustomer sandbox, a webhook receiver and the JSON payload fixtures."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

from bearscope.testing.servers import BackgroundServer, QuietThreadingHTTPServer
from kustomer.sandbox import SandboxServer

__all__ = [
    "AMBIGUOUS_CUSTOMER_ID",
    "CONVERSATION_ID",
    "CUSTOMER_ID",
    "FIXTURES_DIR",
    "MISMATCH_ORDER_NUMBER",
    "ORDER_NUMBER",
    "SANDBOX_API_KEY",
    "WebhookReceiver",
    "fixture_bytes",
    "kustomer_sandbox",
    "load_fixture",
    "sandbox",
    "webhook_receiver",
]

FIXTURES_DIR = Path(__file__).with_name("fixtures")
SANDBOX_API_KEY = "test-api-key"
SANDBOX_ORG = "sandbox-org"  # the seed's org: its resources and webhooks name it

# Seed ids shared by the payload fixtures and the sandbox (see kustomer/sandbox/seed.json).
CUSTOMER_ID = "6650c1a2b3d4e5f601a2c001"  # Maya Patel, one order
CONVERSATION_ID = "6650c2b3c4d5e6f702b3d001"  # Maya's "where is my order BS-100234?"
ORDER_NUMBER = "BS-100234"
AMBIGUOUS_CUSTOMER_ID = "6650c1a2b3d4e5f601a2c002"  # Daniel Okafor, two recent orders
MISMATCH_ORDER_NUMBER = "BS-100355"  # Ava Thompson's order, whose emailStr is not hers


def fixture_bytes(name: str) -> bytes:
    """The exact bytes of a webhook payload fixture, e.g. fixture_bytes("conversation_create")."""
    filename = name if name.endswith(".json") else f"{name}.json"
    return (FIXTURES_DIR / filename).read_bytes()


def load_fixture(name: str) -> dict:
    """A webhook payload fixture as a fresh dict (safe to modify)."""
    return json.loads(fixture_bytes(name))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One running sandbox for the session; it accepts only SANDBOX_API_KEY."""
    with SandboxServer(api_key=SANDBOX_API_KEY) as server:
        yield server


@pytest.fixture
def kustomer_sandbox(sandbox: SandboxServer, settings) -> Iterator[SandboxServer]:
    """The session sandbox back at its seed state, with the Kustomer settings pointing at it."""
    response = requests.post(sandbox.url("/_sandbox/reset"), timeout=10)
    response.raise_for_status()
    settings.KUSTOMER_API_BASE_URL = sandbox.base_url
    settings.KUSTOMER_API_KEY = SANDBOX_API_KEY
    yield sandbox


@dataclass
class WebhookReceiver:
    """What a local webhook endpoint received; `status` and `delay` shape its answers."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5) -> list[dict]:
        """The first `count` requests, waiting for them to arrive; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook deliveries, got {len(self.received)}")


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A tiny HTTP server on a free port that records each POST: path, headers, raw body, JSON."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body,
                        "json": json.loads(body),
                    }
                )
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = QuietThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with BackgroundServer(server, name="webhook-receiver").start() as running:
        receiver.url = f"{running.base_url}/webhooks/kustomer/"
        yield receiver
