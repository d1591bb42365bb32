"""Run the sandbox on a threading WSGI server in a daemon thread (tests, demo, the management command)."""

import sys
import threading
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import SandboxApp
from .state import SandboxConfig, SandboxState
from .traffic import FaultRule
from .webhooks import Dispatcher


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog of 5 refuses some of them.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts against injected latency) hang up mid-answer: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class VerboseHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"[kustomer-sandbox] {self.address_string()} {format % args}\n")


class SandboxServer:
    """A running sandbox: `with SandboxServer() as sandbox: requests.get(sandbox.base_url + "/v1/...")`.

    Keyword arguments are SandboxConfig fields; `faults` may mix FaultRule objects, dicts and
    "STATUS:COUNT[:PATH_REGEX]" strings.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        faults = [self._fault(item) for item in config.pop("faults", [])]
        self.config = SandboxConfig(faults=faults, **config)
        self.state = SandboxState(self.config)
        self.dispatcher = Dispatcher(timeout=self.config.webhook_timeout)
        self.app = SandboxApp(self.state, self.dispatcher)
        handler = VerboseHandler if self.config.verbose else QuietHandler
        try:
            self._server = make_server(
                host, port, self.app, server_class=ThreadingWSGIServer, handler_class=handler
            )
        except OSError:
            self.dispatcher.close()
            raise
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="kustomer-sandbox",
            daemon=True,
        )
        self._thread.start()

    @staticmethod
    def _fault(item: FaultRule | dict[str, Any] | str) -> FaultRule:
        if isinstance(item, FaultRule):
            return item
        return FaultRule.from_spec(item) if isinstance(item, str) else FaultRule.from_dict(item)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def stats(self) -> dict[str, Any]:
        """Request counts as GET /_sandbox/stats reports them."""
        with self.state.lock:
            return self.state.stats.as_dict()

    def reset(self) -> None:
        """Back to the seed, as POST /_sandbox/reset does."""
        self.state.reset()
        self.dispatcher.clear()

    def wait_for_webhooks(self, timeout: float = 10) -> bool:
        """Block until every queued webhook delivery has been attempted."""
        return self.dispatcher.wait(timeout=timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.log()

    def join(self) -> None:
        """Block while the server runs (Ctrl-C still interrupts: the wait wakes up twice a second)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.dispatcher.close()

    def __enter__(self) -> "SandboxServer":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
