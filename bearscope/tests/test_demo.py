"""`make demo` end to end: sandbox, web server and qcluster started, samples replayed and processed."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from bearscope.testing.messages_server import MessagesServer

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_replays_the_samples_through_the_real_endpoint_and_processes_them(tmp_path):
    claude = MessagesServer(
        keyword_intents={"where is my order": "shipping_issue", "refund": "product_defect"}
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KUSTOMER_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "bearscope.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "ANTHROPIC_API_KEY": "test",
        "ANTHROPIC_BASE_URL": claude.base_url,
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--exit-after-replay",
            "--port",
            str(free_port()),
            "--sandbox-port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "login admin / " in out
    delivered = int(out.split("delivered ")[1].split(" events")[0])
    assert delivered >= 20
    assert ", 0 failed" in out
    assert "0 received" in out and "0 failed" in out.split("events: ")[1]
    assert "Loaded 10 intents, 55 sub-intents" in out
    classified = int(out.split("conversations classified: ")[1].split(" ")[0])
    written = int(out.split("), ")[-1].split(" written back")[0])
    assert classified >= 10
    assert written == classified
    assert len(claude.message_requests) == classified
    assert "auto-reply decisions: " in out and "none sent" in out
    assert "Stopped the sandbox, web server and qcluster." in out
    claude.stop()
