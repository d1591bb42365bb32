"""Settings from the environment: production refusals, database and broker choice, queue timing."""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


DEFAULT_PRINTS = (
    "print(s.DATABASES['default']['ENGINE']); print('orm' if s.Q_CLUSTER.get('orm') else 'redis'); "
    "print(s.Q_CLUSTER['timeout'] < s.Q_CLUSTER['retry'], s.Q_CLUSTER['max_attempts'])"
)


def django_setup(
    settings_module: str, *, prints: str = DEFAULT_PRINTS, **env: str
) -> subprocess.CompletedProcess:
    """Import settings in a fresh interpreter with only the given variables, and print a few."""
    script = f"import django; django.setup(); from django.conf import settings as s; {prints}"
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "KUSTOMER_"))
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_local_defaults_are_sqlite_and_the_database_broker_with_bounded_retries():
    result = django_setup("bearscope.settings.local")
    assert result.returncode == 0, result.stderr
    engine, broker, timing = result.stdout.split("\n")[:3]
    assert engine == "django.db.backends.sqlite3"
    assert broker == "orm"
    assert timing == "True 5"


def test_database_url_and_redis_url_choose_postgresql_and_redis():
    result = django_setup(
        "bearscope.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/bearscope",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["django.db.backends.postgresql", "redis"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
    ],
)
def test_production_refuses_to_start_without_a_secret_or_with_debug(env, message):
    result = django_setup("bearscope.settings.production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_a_secret_and_debug_off():
    result = django_setup(
        "bearscope.settings.production", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="a.example"
    )
    assert result.returncode == 0, result.stderr


def test_login_throttle_limits_come_from_the_environment(settings):
    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds()) == (5, 900.0)
    prints = "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS)"
    chosen = django_setup(
        "bearscope.settings.local", prints=prints, LOGIN_FAILURE_LIMIT="3", LOGIN_COOLOFF_MINUTES="2.5"
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.strip() == "3 150.0 [['username', 'ip_address']]"


def test_production_passes_the_deploy_check_without_warnings():
    secret = "".join(
        secrets.choice(string.ascii_letters + string.digits + "!@#$%^&*(-_=+)") for _ in range(60)
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))},
            "DJANGO_SETTINGS_MODULE": "bearscope.settings.production",
            "DJANGO_SECRET_KEY": secret,
            "DJANGO_ALLOWED_HOSTS": "bearscope.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
