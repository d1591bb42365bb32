"""The house's import rules, read from the source: imports run down the pipeline, one home for the SDKs."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# bearscope ← kustomer ← classification ← autoreply ← intelligence: each may import those before it.
PIPELINE = ["bearscope", "kustomer", "classification", "autoreply", "intelligence"]
# The only modules that may import these libraries in product code.
ONLY_HOME = {
    "anthropic": {"bearscope/llm.py"},
    # Kustomer is spoken to by its client; the sandbox emulates it and delivers its webhooks, and
    # the demo drives the sandbox's control endpoints (not Kustomer).
    "requests": {
        "kustomer/client.py",
        "kustomer/sandbox/webhooks.py",
        "bearscope/management/commands/demo.py",
    },
}


def product_modules() -> list[Path]:
    """Every product module: the apps' code, without their tests and migrations."""
    return sorted(
        path
        for app in PIPELINE
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    )


def imported(path: Path) -> set[str]:
    """Top-level package names a module imports, anywhere in it (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


MODULES = product_modules()


def test_the_rules_see_every_app():
    assert {path.relative_to(ROOT).parts[0] for path in MODULES} == set(PIPELINE)
    assert len(MODULES) > 100


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_down_the_pipeline(path):
    own = PIPELINE.index(path.relative_to(ROOT).parts[0])
    upward = sorted(name for name in imported(path) if name in PIPELINE and PIPELINE.index(name) > own)
    assert upward == [], f"{path.relative_to(ROOT)} imports {upward}, further up the pipeline"


@pytest.mark.parametrize("library", sorted(ONLY_HOME))
def test_each_library_is_imported_only_in_its_home(library):
    # bearscope/testing is the tests' harness (it drives the SDK against the local servers).
    shipped = [path for path in MODULES if "testing" not in path.parts]
    importers = {str(path.relative_to(ROOT)) for path in shipped if library in imported(path)}
    assert importers <= ONLY_HOME[library], sorted(importers - ONLY_HOME[library])


def test_the_checks_would_catch_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from classification.models import Intent\nimport anthropic.types\n")
    assert imported(module) == {"classification", "anthropic"}
