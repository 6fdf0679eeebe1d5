"""A local HTTP server that imitates the Contactship contacts API, with switchable faults.

Standard library only: ``ThreadingHTTPServer`` on loopback, JSON bodies, HTTP/1.1 keep-alive.
``make_server`` builds one; ``serve_in_thread`` runs one for the length of a ``with`` block.
The answers themselves are ``contacts.demo.handler``'s.
"""

from __future__ import annotations

import contextlib
import random
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from contacts.demo import data
from contacts.demo.faults import Faults
from contacts.demo.handler import API_PREFIX, DemoRequestHandler

NO_FAULTS = Faults()

# The error-rate fault draws from this seed, so a run with the same requests fails the same way.
FAULT_SEED = 1234
CLOSE_GRACE_SECONDS = 2.0  # how long server_close waits for handler threads to finish


class DemoServer(ThreadingHTTPServer):
    """The demo API server: API keys, current faults and the state the faults need."""

    daemon_threads = True
    allow_reuse_address = True
    # server_close closes the open connections itself and waits a bounded time for their
    # threads; joining them unconditionally would block on idle keep-alive connections.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        keys: Mapping[str, str],
        faults: Faults = NO_FAULTS,
        *,
        verbose: bool = False,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.keys: dict[str, str] = dict(keys)  # api key -> organisation id
        self.verbose = verbose
        self.stopping = threading.Event()
        self.connections_accepted = 0
        self._lock = threading.Lock()
        self._connections_closed = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        self._faults = faults
        self._requests_seen = 0
        # The raw request targets of the current run, as they arrived (for tests).
        self.paths_seen: deque[str] = deque(maxlen=1000)
        self._fault_random = random.Random(FAULT_SEED)
        self.in_flight = 0  # API requests being handled now, refused ones included
        self.peak_in_flight = 0  # the most at once since the faults were last set
        self.refused_concurrent = 0  # 429s of the max_concurrent fault
        super().__init__(address, DemoRequestHandler)

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        # New faults start a new "run": rate_limit_count counts from here and the error-rate
        # draws repeat, so a test that sets faults sees the same outcome every time.
        with self._lock:
            self._faults = faults
            self._requests_seen = 0
            self.paths_seen.clear()
            self._fault_random.seed(FAULT_SEED)
            self.peak_in_flight = self.in_flight
            self.refused_concurrent = 0

    @property
    def requests_seen(self) -> int:
        """API requests (not health checks) received since the faults were last set."""
        return self._requests_seen

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}{API_PREFIX}"

    def count_request(self, path: str = "") -> int:
        """Count an API request; returns its number in the current run (1 for the first)."""
        with self._lock:
            self.paths_seen.append(path)
            self._requests_seen += 1
            return self._requests_seen

    def arrive(self, limit: int) -> bool:
        """Count a request in flight; False if `limit` (when not 0) were in flight already."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if limit and self.in_flight > limit:
                self.refused_concurrent += 1
                return False
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "refused_concurrent": self.refused_concurrent,
                "requests": self._requests_seen,
            }

    def roll(self) -> float:
        """A draw in [0, 1) from the seeded fault generator."""
        with self._lock:
            return self._fault_random.random()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can stall for
        # seconds on a machine with slow DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
            self._connections_closed.notify_all()
        super().shutdown_request(request)

    def shutdown(self) -> None:
        """Stop serve_forever (only call it while serving); hanging requests give up too."""
        self.stopping.set()
        super().shutdown()

    def server_close(self) -> None:
        """Close the listening socket and every open connection (idle keep-alive ones too)."""
        self.stopping.set()
        super().server_close()
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            # Wakes a thread blocked reading it; OSError: its thread has closed it already.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        with self._connections_closed:
            while self._connections and (remaining := deadline - time.monotonic()) > 0:
                self._connections_closed.wait(remaining)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (or a connection closed at shutdown) is routine, not a bug.
        error = sys.exception()
        if isinstance(error, ConnectionError | TimeoutError):
            return
        if isinstance(error, OSError) and self.stopping.is_set():
            return
        super().handle_error(request, client_address)


def make_server(
    host: str,
    port: int,
    organisations: Mapping[str, str],
    faults: Faults = NO_FAULTS,
    *,
    verbose: bool = False,
) -> DemoServer:
    """A server for ``organisations`` (org id -> API key), listening but not yet serving.

    The organisations' datasets are generated first, so the first request is fast. Any org id
    works: ids that are not demo organisations get a small generated dataset.
    """
    keys: dict[str, str] = {}
    for org_id, key in organisations.items():
        if not key:
            raise ValueError(f"organisation {org_id!r} has an empty API key")
        if key in keys:
            raise ValueError(f"organisations {keys[key]!r} and {org_id!r} share an API key")
        keys[key] = org_id
    data.prepare(organisations)
    return DemoServer((host, port), keys, faults, verbose=verbose)


@contextmanager
def serve_in_thread(
    organisations: Mapping[str, str],
    faults: Faults = NO_FAULTS,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    verbose: bool = False,
) -> Iterator[DemoServer]:
    """Serve in a daemon thread for the ``with`` block (port 0: a free port; see base_url)."""
    server = make_server(host, port, organisations, faults, verbose=verbose)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
        name=f"demo-contactship-api:{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
