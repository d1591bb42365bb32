"""manage.py keeps local settings but refuses every command with the development key once DEBUG is off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(variables)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["qcluster"], ["check"], ["migrate", "--plan"]])
def test_commands_refuse_the_development_key_with_debug_off(command):
    done = _manage(*command, DJANGO_DEBUG="false")
    assert done.returncode == 1
    assert "DJANGO_SECRET_KEY is the public development key" in done.stderr


def test_with_debug_on_or_a_key_of_its_own_manage_py_runs():
    assert _manage("check", DJANGO_DEBUG="true").returncode == 0
    own_key = _manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="a-key-of-our-own-" + "x" * 40)
    assert own_key.returncode == 0, own_key.stderr
