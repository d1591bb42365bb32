"""Run the sandbox on a threading WSGI server in a daemon thread (tests, demo, the management command)."""

import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bearscope.testing.servers import BackgroundServer, QuietDisconnects

from .app import SandboxApp
from .state import SandboxConfig, SandboxState
from .traffic import FaultRule
from .webhooks import Dispatcher


class ThreadingWSGIServer(QuietDisconnects, ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog of 5 refuses some of them.
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class VerboseHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"[kustomer-sandbox] {self.address_string()} {format % args}\n")


class SandboxServer(BackgroundServer):
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
            server = make_server(
                host, port, self.app, server_class=ThreadingWSGIServer, handler_class=handler
            )
        except OSError:
            self.dispatcher.close()
            raise
        super().__init__(server, name="kustomer-sandbox", host=host, poll_interval=0.1)
        self.start()

    @staticmethod
    def _fault(item: FaultRule | dict[str, Any] | str) -> FaultRule:
        if isinstance(item, FaultRule):
            return item
        return FaultRule.from_spec(item) if isinstance(item, str) else FaultRule.from_dict(item)

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

    def deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.log()

    def stop(self) -> None:
        super().stop()
        self.dispatcher.close()
