"""Test HTTP servers in the background: one socketserver served from a daemon thread, stopped on exit."""

from __future__ import annotations

import socketserver
import sys
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["BackgroundServer", "QuietDisconnects", "QuietThreadingHTTPServer"]


class QuietDisconnects:
    """socketserver mixin: a client that gave up and hung up mid-answer is expected, not a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients time out against injected latency and hang steps; anything else is a bug to show.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class QuietThreadingHTTPServer(QuietDisconnects, ThreadingHTTPServer):
    """A thread per connection (daemon threads: a hanging answer never blocks the exit)."""


class BackgroundServer:
    """Serves a bound `server` from a daemon thread from start() until stop() (which `with` calls,
    safe twice).

    `host` (the one given, else the bound address), `port` (the bound one, so port 0 picks a free
    port) and `base_url` say where it listens; join() blocks while it runs.
    """

    def __init__(
        self,
        server: socketserver.BaseServer,
        *,
        name: str,
        host: str | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        self._server = server
        address = server.server_address
        self.host: str = host or str(address[0])
        self.port: int = int(address[1])
        self._stopped = False
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def join(self) -> None:
        """Block while the server runs (Ctrl-C still interrupts: the wait wakes up twice a second)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.ident is not None:  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
