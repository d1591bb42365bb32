"""`make demo` end to end: sandbox, web server and qcluster started, samples replayed and processed."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from bearscope.testing.messages_server import MessagesServer

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "kustomer" / "sandbox" / "seed.json"
# What each sample conversation became, read from the demo's database after it stopped.
OUTCOMES = (
    "import json; from classification.models import Classification; "
    "print(json.dumps({c.conversation.kustomer_id: [c.route, c.intent.key if c.intent else None] "
    "for c in Classification.objects.filter(current=True).select_related('conversation', 'intent')}))"
)


def first_inbound(sample: dict) -> str:
    return next(m["text"] for m in sample["messages"] if m["direction"] == "in")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "KUSTOMER_", "REDIS_", "ANTHROPIC_"))
        },
        "DJANGO_SETTINGS_MODULE": "bearscope.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        **extra,
    }


def run_demo(env: dict[str, str], *, history: int = 0) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--exit-after-replay",
            "--history",
            str(history),
            "--port",
            str(free_port()),
            "--sandbox-port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def summary_figures(out: str) -> dict[str, int]:
    classified = re.search(
        r"(\d+) classified: (\d+) routed automatically, (\d+) in triage; (\d+) written", out
    )
    replies = re.search(
        r"auto-reply: (\d+) shadow repl(?:y|ies) to grade, (\d+) blocked by a guardrail, (\d+) with no "
        r"policy for their intent, (\d+) left to triage; none sent",
        out,
    )
    assert classified and replies, out
    names = ("classified", "auto", "triage", "written", "shadow", "blocked", "no_policy", "left_to_triage")
    return dict(zip(names, map(int, classified.groups() + replies.groups()), strict=True))


def test_demo_replays_the_samples_through_the_real_endpoint_and_processes_them(tmp_path):
    claude = MessagesServer(
        keyword_intents={"where is my order": "shipping_issue", "refund": "product_defect"}
    )
    out = run_demo(demo_env(tmp_path, ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=claude.base_url))
    delivered = int(out.split("delivered ")[1].split(" events")[0])
    assert delivered >= 20
    assert ", 0 failed" in out
    assert "Loaded 10 intents, 55 sub-intents" in out
    figures = summary_figures(out)
    assert figures["classified"] >= 10
    assert figures["written"] == figures["classified"] == figures["auto"] + figures["triage"]
    assert len(claude.message_requests) == figures["classified"]
    assert "Stopped the sandbox, web server and qclusters." in out
    claude.stop()


def test_demo_without_a_key_routes_the_clear_samples_and_leaves_a_shadow_reply_to_grade(tmp_path):
    env = demo_env(tmp_path)
    out = run_demo(env, history=60)
    assert "Classifier: the local model" in out
    figures = summary_figures(out)
    samples = {c["id"]: c for c in json.loads(SEED.read_text())["conversations"]}
    assert figures["classified"] == len(samples)
    assert figures["shadow"] >= 1
    assert figures["auto"] + figures["triage"] == figures["classified"]
    assert figures["left_to_triage"] == figures["triage"]

    outcomes = json.loads(
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", OUTCOMES],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip().splitlines()[-1]
    )
    assert outcomes.keys() == samples.keys()
    greetings = [id_ for id_, sample in samples.items() if len(first_inbound(sample).split()) <= 3]
    assert greetings
    for conversation, (route, intent) in outcomes.items():
        sample = samples[conversation]
        if route == "auto":
            # Out-of-scope samples declare no intent; a greeting says nothing to route on.
            assert sample["intent"] is not None, f"{conversation} (out of scope) routed automatically"
            assert conversation not in greetings, f"{conversation} (a greeting) routed automatically"
            assert intent == sample["intent"], f"{conversation} routed as {intent}, not {sample['intent']}"
    assert sum(route == "auto" for route, _ in outcomes.values()) == figures["auto"]

    # The history was imported (and nothing of it classified: the outcomes are the samples'), labelled
    # and backtested, with a link to the report.
    history = re.search(r"history: (\d+) past conversations \((\d+) messages\) imported as history", out)
    assert history and int(history.group(1)) >= 60 and int(history.group(2)) > 60, out
    backtest = re.search(r"backtest of the local classifier on (\d+) conversations, (\d+) with the team", out)
    assert backtest and 0 < int(backtest.group(2)) <= int(backtest.group(1)), out
    assert re.search(r"of intents right; \d+% would have routed automatically.*/backtests/\d+/", out)

    # The summary comes first, then the links (insights on a range holding every sample), sign-in last.
    summary, links, sign_in = out.index("classified:"), out.index("Insights:"), out.index("Sign in at ")
    assert summary < links < sign_in
    assert re.search(r"/insights/\?start=\d{4}-\d\d-\d\d&end=\d{4}-\d\d-\d\d", out)
    assert ".demo/qcluster.log" in out and "django-q" not in out
    password = re.search(r"password: (\S+)", out[sign_in:]).group(1)
    again = subprocess.run(
        [sys.executable, "manage.py", "demo", "--credentials"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"password: {password}" in again
