"""A plain text progress bar for management commands (no extra dependency)."""

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """`label [#####.....] done/total  rate/s`, redrawn in place at most ten times a second."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = max(total, 0), label, 0
        self.stream = stream or sys.stderr
        self.started = self.drawn = time.monotonic()
        self._draw()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.drawn >= 0.1 or self.done >= self.total:
            self.drawn = now
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * min(share, 1.0))
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total}  {rate:,.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
