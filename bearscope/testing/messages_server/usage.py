"""Usage accounting: token estimates, the prompt's blocks and prompt-cache emulation."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

MAX_CACHE_BREAKPOINTS = 4  # the real API rejects a request with more


def estimate_tokens(text: str) -> int:
    """The server's token estimate: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, Mapping):
        if isinstance(block.get("text"), str):
            return block["text"]
        # Tool results, images and the like: their JSON is a fair stand-in for their size.
        return json.dumps(
            {key: value for key, value in block.items() if key != "cache_control"}, sort_keys=True
        )
    return ""


def prompt_blocks(body: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(role, text, cache_control) for every system block then every message content block, in order."""
    blocks: list[tuple[str, str, Any]] = []
    system = body.get("system")
    if isinstance(system, str):
        blocks.append(("system", system, None))
    elif isinstance(system, list):
        blocks += [
            ("system", _block_text(b), b.get("cache_control") if isinstance(b, Mapping) else None)
            for b in system
        ]
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, list):
            blocks += [
                (role, _block_text(b), b.get("cache_control") if isinstance(b, Mapping) else None)
                for b in content
            ]
        else:
            blocks.append((role, _block_text(content), None))
    # Top-level cache_control puts the marker on the last block, as the API does.
    if isinstance(body.get("cache_control"), Mapping) and blocks:
        role, text, marker = blocks[-1]
        blocks[-1] = (role, text, marker or body["cache_control"])
    return blocks


def is_breakpoint(marker: Any) -> bool:
    return isinstance(marker, Mapping) and marker.get("type") == "ephemeral"


class PromptCache:
    """Cached prompt prefixes, keyed by the model and the text up to a breakpoint, each until its TTL
    (the rules are in MessagesServer's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}  # prefix hash -> monotonic expiry

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()

    def usage(
        self, body: Mapping[str, Any], *, min_cacheable_tokens: int, ttl_seconds: float
    ) -> dict[str, int]:
        """The request's input usage, reading and storing prefixes as the API would."""
        blocks = prompt_blocks(body)
        model = str(body.get("model"))
        total_chars = 0
        digest = hashlib.sha256(model.encode())
        # (prefix tokens, prefix hash, ttl) for every breakpoint long enough to be cached
        eligible: list[tuple[int, str, float]] = []
        for role, text, marker in blocks:
            total_chars += len(text)
            digest.update(json.dumps([role, text]).encode())
            if is_breakpoint(marker):
                tokens = math.ceil(total_chars / 4)
                if tokens >= min_cacheable_tokens:
                    ttl = 3600.0 if marker.get("ttl") == "1h" else float(ttl_seconds)
                    eligible.append((tokens, digest.copy().hexdigest(), ttl))
        total = math.ceil(total_chars / 4)
        read = created = 0
        now = time.monotonic()
        with self._lock:
            hit = -1
            for index in range(len(eligible) - 1, -1, -1):
                tokens, key, ttl = eligible[index]
                if self._expiry.get(key, 0) > now:
                    hit, read = index, tokens
                    self._expiry[key] = now + ttl  # a read refreshes the entry, as on the API
                    break
            for _tokens, key, ttl in eligible[hit + 1 :]:
                self._expiry[key] = now + ttl
            if eligible and hit < len(eligible) - 1:
                created = eligible[-1][0] - read
        return {
            "input_tokens": total - read - created,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }
