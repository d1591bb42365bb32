"""`make demo` end to end: sandbox, web server and qcluster started, samples replayed and processed."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_replays_the_samples_through_the_real_endpoint_and_processes_them(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KUSTOMER_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "bearscope.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
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
    assert "Stopped the sandbox, web server and qcluster." in out
