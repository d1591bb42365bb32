"""Fixtures of the process-level tests: gunicorn and qcluster processes against the test database."""

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection

from bearscope.testing.messages_server import MessagesServer
from bearscope.testing.processes import Child, QCluster, free_port, product_env, wait_for, web_server
from kustomer.sandbox import SandboxServer
from kustomer.tests.sandbox_fixtures import CUSTOMER_ID, ORDER_NUMBER, SANDBOX_API_KEY

POSTGRES_ONLY = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="real qcluster and web processes share the test database: PostgreSQL only (run with DATABASE_URL)",
)
MACHINE_USER = "machine-user-0001"
REDIS_URL = "redis://127.0.0.1:6379/3"
WISMO_TEXT = "Hi, where is my order BS-100234? Tracking has not moved since Monday."
# What Claude answers for a "where is my order" message: the auto-reply policy's intent, confident.
WISMO_ANSWER = {
    "intent": "shipping_issue",
    "sub_intent": "status",
    "priority": "normal",
    "complexity": "simple",
    "confidence": 0.98,
    "rationale": "Asks where the order is.",
    "entities": {"order_number": ORDER_NUMBER, "email": None, "language": "en"},
}


def test_database_url() -> str:
    """The pytest test database as a URL the child processes can use."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Stack:
    """The Kustomer sandbox and the Messages API server in this process; the product's processes as
    children."""

    def __init__(self, *, sandbox: dict[str, Any], messages: dict[str, Any], env: dict[str, str]) -> None:
        self.secret = secrets.token_hex(16)
        self.sandbox = SandboxServer(api_key=SANDBOX_API_KEY, **sandbox)
        self.messages = MessagesServer(**messages)
        defaults = {
            "DATABASE_URL": test_database_url(),
            "KUSTOMER_API_BASE_URL": self.sandbox.base_url,
            "KUSTOMER_API_KEY": SANDBOX_API_KEY,
            "KUSTOMER_WEBHOOK_SECRET": self.secret,
            "KUSTOMER_MACHINE_USER_ID": MACHINE_USER,
            "KUSTOMER_MAX_WAIT_SECONDS": "5",
            "KUSTOMER_BACKOFF_BASE_SECONDS": "0.2",
            "ANTHROPIC_API_KEY": "test",
            "ANTHROPIC_BASE_URL": self.messages.base_url,
            "LLM_TIMEOUT_SECONDS": "5",
            "LLM_MAX_RETRIES": "0",
            "Q_WORKERS": "2",
            # One qcluster serves every task unless a test starts the lanes (test_lanes.py).
            "QUEUE_LANES": "0",
            # timeout < retry, both short: a killed worker's task comes back within seconds.
            "Q_TIMEOUT": "8",
            "Q_RETRY": "16",
        }
        self.env = product_env(**{**defaults, **env})
        self.children: list[Child] = []
        self.web_url = ""
        self.closed = False

    def web(self) -> str:
        """Start gunicorn and subscribe the sandbox's webhooks to it; returns the webhook URL."""
        port = free_port()
        child = web_server(self.env, port).start()
        self.children.append(child)
        child.wait_http(f"http://127.0.0.1:{port}/healthz")
        self.web_url = f"http://127.0.0.1:{port}/webhooks/kustomer/"
        self.control("POST", "webhooks", {"url": self.web_url, "secret": self.secret})
        return self.web_url

    def qcluster(self, label: str = "qcluster", *, lane: str | None = None, **env: str) -> QCluster:
        cluster = QCluster({**self.env, **env}, label=label, lane=lane).start()
        self.children.append(cluster)
        cluster.wait_ready(int(env.get("Q_WORKERS", self.env["Q_WORKERS"])))
        return cluster

    def control(self, method: str, path: str, body: Any = None) -> dict:
        response = requests.request(method, self.sandbox.url(f"/_sandbox/{path}"), json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def new_conversation(self, text: str = WISMO_TEXT, customer_id: str = CUSTOMER_ID) -> str:
        """A customer writes in: the sandbox sends conversation.create and message.create to the web."""
        answer = self.control(
            "POST", "scenarios/new-conversation", {"customer_id": customer_id, "text": text}
        )
        assert [d["status_code"] for d in answer["deliveries"]] == [200, 200], answer["deliveries"]
        return answer["conversation_id"]

    def conversation_state(self, conversation_id: str) -> dict:
        return self.control("GET", f"state/conversations/{conversation_id}")

    def outbound(self, conversation_id: str) -> list[dict]:
        messages = self.conversation_state(conversation_id)["messages"]
        return [m for m in messages if m["attributes"]["direction"] == "out"]

    def writes(self, method_path: str) -> int:
        """How many times the sandbox received this write, e.g. "PATCH /v1/conversations/<id>"."""
        return self.sandbox.stats()["writes_by_path"].get(method_path, 0)

    def wait_for(self, condition: Callable[[], object], *, timeout: float, what: str) -> object:
        """wait_for that also fails at once, with its log, when a child process died."""

        def check() -> object:
            for child in self.children:
                assert child.alive, f"the {child.label} died:\n{child.log_tail()}"
            return condition()

        try:
            return wait_for(check, timeout=timeout, what=what)
        except AssertionError as exc:
            logs = "\n".join(f"--- {c.label}\n{c.log_tail(2000)}" for c in self.children)
            raise AssertionError(f"{exc}\n{logs}") from None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # All at once, and briefly: the test has its answers; django-q2 may wait 30 s on a graceful stop.
        for child in self.children:
            child.terminate()
        for child in reversed(self.children):
            child.close(grace=3)
        with contextlib.suppress(Exception):
            self.sandbox.stop()
        self.messages.stop()


@pytest.fixture
def make_stack(transactional_db) -> Iterator[Callable[..., Stack]]:
    """A factory of stacks; every process and server is stopped before the test database is flushed."""
    stacks: list[Stack] = []

    def make(*, sandbox: dict | None = None, messages: dict | None = None, **env: str) -> Stack:
        stack = Stack(
            sandbox=sandbox or {}, messages=messages or {"responder": lambda body: WISMO_ANSWER}, env=env
        )
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()
