"""SandboxConfig: how a sandbox starts (keys, budgets, faults, seed), as SandboxServer's keyword arguments."""

from dataclasses import dataclass, field
from pathlib import Path

from . import resources
from .traffic import FaultRule


@dataclass
class SandboxConfig:
    """`refused` names endpoint families the API key lacks a role for ("metadata.update", "outbound_webhook",
    or "org.permission.metadata.update"): those answer 403. `history` seeds that many past conversations."""

    api_key: str | None = None
    org: str | None = None
    machine_user_id: str = "machine-user-0001"
    rate_limit: int = 1000
    # Search by API key has its own budget per key, on top of the org's; queries stop after this many pages.
    search_rate_limit: int = 100
    search_page_cap: int = 100
    customer_write_limit: int = 120
    latency_ms: int = 0
    reset_epoch: bool = False
    retry_after: bool = False
    faults: list[FaultRule] = field(default_factory=list)
    seed_path: Path = resources.SEED_PATH
    webhook_timeout: float = 10
    verbose: bool = False
    request_log_limit: int = 10_000
    refused: list[str] = field(default_factory=list)
    # Kustomer may store a custom key with no definition or refuse it; by default the sandbox stores it.
    strict_custom_attributes: bool = False
    # Past conversations to seed (0: none), from a fixed random seed so every run has the same history.
    history: int = 0
    history_seed: int = 2024
