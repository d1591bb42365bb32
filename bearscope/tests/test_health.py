"""Liveness and readiness endpoints."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_the_database():
    # No django_db mark: pytest-django makes any database access here an error.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_queue():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_and_names_the_queue_when_the_broker_is_down():
    # Redis on a port where nothing listens: the broker is configured at start-up, so a fresh process.
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(r.status_code, r.json()['problems'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bearscope.settings.local",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": "sqlite:///:memory:",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("503")
    assert "queue" in result.stdout
