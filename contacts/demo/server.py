"""A local HTTP server that imitates the Contactship contacts API, with switchable faults.

Standard library only: ``ThreadingHTTPServer`` on loopback, JSON bodies, HTTP/1.1 keep-alive.
``make_server`` builds one; ``serve_in_thread`` runs one for the length of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from contacts.demo import data
from contacts.demo.faults import Faults

NO_FAULTS = Faults()

API_PREFIX = "/v1"
CONTACTS_PATH = f"{API_PREFIX}/contacts"
HEALTH_PATH = "/healthz"
STATS_PATH = "/_demo/stats"  # concurrency seen, for tests and benchmarks; no key, no faults

DEFAULT_LIMIT = 100
MAX_LIMIT = 100  # larger limits are capped, like the real API's 100 contacts per request
MAX_FILTER_LENGTH = 200
FILTERS = ("full_name", "email", "phone_number")

# The error-rate fault draws from this seed, so a run with the same requests fails the same way.
FAULT_SEED = 1234
HANG_STEP_SECONDS = 0.05  # how often a hanging request checks whether the server is stopping
CLOSE_GRACE_SECONDS = 2.0  # how long server_close waits for handler threads to finish

INVALID_KEY = "Invalid or missing API key"
ERROR_MESSAGES = {
    HTTPStatus.BAD_REQUEST: "Invalid request parameters",
    HTTPStatus.UNAUTHORIZED: INVALID_KEY,
    HTTPStatus.NOT_FOUND: "Not found",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many requests",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal server error",
}
MAINTENANCE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>"
    "<body><h1>Contactship is down for maintenance</h1>"
    "<p>We will be back shortly.</p></body></html>\n"
)
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


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


class _Reply(Exception):
    """Stop handling the request and answer with this JSON error."""

    def __init__(
        self, status: int, message: str | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message or ERROR_MESSAGES.get(status) or HTTPStatus(status).phrase
        self.headers = tuple(headers)


class _Drop(Exception):
    """Stop handling the request without answering (a hang that ended with the server)."""


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests: faults first, then the two contact endpoints."""

    protocol_version = "HTTP/1.1"  # keep-alive, so clients can pool connections
    server_version = "ContactshipDemo/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm the second one waits for the
    # client's delayed ACK, adding 40 ms to every response.
    disable_nagle_algorithm = True
    timeout = 60  # seconds an idle keep-alive connection is kept open

    def version_string(self) -> str:
        return self.server_version  # without the Python version

    @property
    def demo(self) -> DemoServer:
        return cast(DemoServer, self.server)

    def do_GET(self) -> None:
        self._handle()

    # Every other method is refused (405), after the faults like any request.
    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _handle(self) -> None:
        url = urlsplit(self.path)
        if self.command == "GET" and url.path == HEALTH_PATH:
            self._send_json(HTTPStatus.OK, {"status": "ok"})  # no key, no faults
            return
        if self.command == "GET" and url.path == STATS_PATH:
            self._send_json(HTTPStatus.OK, self.demo.stats())
            return
        # One snapshot per request: a test swapping faults mid-request never mixes two configs.
        faults = self.demo.faults
        admitted = self.demo.arrive(faults.max_concurrent)
        self._counted = True
        try:
            if not admitted:
                # Refused on arrival, as a concurrency limit in front of an API does.
                raise _Reply(HTTPStatus.TOO_MANY_REQUESTS, "Too many concurrent requests")
            self._apply_faults(faults)
            if self.command != "GET":
                raise _Reply(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"Method {self.command} not allowed",
                    # The request body, if any, is not read: close rather than misread it.
                    [("Allow", "GET"), ("Connection", "close")],
                )
            self._route(url.path, url.query, faults)
        except _Reply as reply:
            self._send_json(reply.status, {"error": reply.message}, reply.headers)
        except _Drop:
            self.close_connection = True
        finally:
            self._leave()

    def _leave(self) -> None:
        """The request is no longer in flight: once its answer is ready (before it is written,
        so a client's next request never meets its previous one still counted), or when it
        ends without one."""
        if getattr(self, "_counted", False):
            self._counted = False
            self.demo.leave()

    # --- faults -----------------------------------------------------------------------------

    def _apply_faults(self, faults: Faults) -> None:
        """Hang, latency, status, rate limit, error rate (in that order); shapes come later."""
        server = self.demo
        number = server.count_request(self.path)
        if faults.hang:
            # Sleep in small steps; give up (without answering) when the server stops or the
            # fault is switched off.
            while server.faults.hang and not server.stopping.wait(HANG_STEP_SECONDS):
                pass
            raise _Drop
        if faults.latency_ms and server.stopping.wait(faults.latency_ms / 1000):
            raise _Drop
        if faults.status is not None:
            raise _Reply(faults.status)
        if faults.rate_limit_retry_after is not None and (
            faults.rate_limit_count == 0 or number <= faults.rate_limit_count
        ):
            raise _Reply(
                HTTPStatus.TOO_MANY_REQUESTS,
                "Too many requests",
                [("Retry-After", str(faults.rate_limit_retry_after))],
            )
        if faults.error_rate and server.roll() < faults.error_rate:
            raise _Reply(HTTPStatus.INTERNAL_SERVER_ERROR)

    # --- endpoints --------------------------------------------------------------------------

    def _route(self, path: str, query: str, faults: Faults) -> None:
        params = _query_params(query)
        if path == CONTACTS_PATH:
            self._list_contacts(self._organisation(), params, faults)
            return
        prefix = CONTACTS_PATH + "/"
        if path.startswith(prefix) and path != prefix and "/" not in path[len(prefix) :]:
            # Percent-decoded, but a literal "+" stays "+": in a path it is not a space.
            identifier = unquote(path[len(prefix) :])
            self._get_contact(self._organisation(), identifier, params, faults)
            return
        raise _Reply(HTTPStatus.NOT_FOUND)

    def _organisation(self) -> str:
        org_id = self.demo.keys.get(self.headers.get("x-api-key") or "")
        if org_id is None:
            raise _Reply(HTTPStatus.UNAUTHORIZED, INVALID_KEY)
        return org_id

    def _list_contacts(self, org_id: str, params: dict[str, str], faults: Faults) -> None:
        filters = {name: params.get(name) for name in FILTERS}
        for name, value in filters.items():
            if value is not None and len(value) > MAX_FILTER_LENGTH:
                raise _Reply(
                    HTTPStatus.BAD_REQUEST,
                    f"{name} must be at most {MAX_FILTER_LENGTH} characters",
                )
        limit = _integer(params, "limit", DEFAULT_LIMIT, minimum=1)
        if limit is None:
            raise _Reply(
                HTTPStatus.BAD_REQUEST, f"limit must be an integer between 1 and {MAX_LIMIT}"
            )
        offset = _integer(params, "offset", 0, minimum=0)
        if offset is None:
            raise _Reply(HTTPStatus.BAD_REQUEST, "offset must be a non-negative integer")
        if faults.fail_from_offset is not None and offset >= faults.fail_from_offset:
            raise _Reply(HTTPStatus.INTERNAL_SERVER_ERROR)

        found = data.matches(org_id, **filters)
        if faults.ignore_paging:
            page = found[:MAX_LIMIT]
        else:
            page = found[offset : offset + min(limit, MAX_LIMIT)]
        self._send_contacts(page, faults, wrong_shape={"data": page})

    def _get_contact(
        self, org_id: str, identifier: str, params: dict[str, str], faults: Faults
    ) -> None:
        identifier_type = params.get("identifierType", "id")
        if identifier_type not in data.IDENTIFIER_TYPES:
            raise _Reply(
                HTTPStatus.BAD_REQUEST,
                f"identifierType must be one of: {', '.join(data.IDENTIFIER_TYPES)}",
            )
        contact = data.find(org_id, identifier, cast(data.IdentifierType, identifier_type))
        if contact is None:
            raise _Reply(HTTPStatus.NOT_FOUND, "Contact not found")
        self._send_contacts(contact, faults, wrong_shape=[contact])

    # --- responses --------------------------------------------------------------------------

    def _send_contacts(self, payload: Any, faults: Faults, *, wrong_shape: Any) -> None:
        """A 200 answer, unless a shape fault replaces it with HTML or JSON of the wrong shape."""
        if faults.odd_timestamps:
            payload = _with_odd_timestamps(payload)
        if faults.non_json:
            self._send(HTTPStatus.OK, MAINTENANCE_PAGE.encode(), HTML_TYPE)
        elif faults.wrong_shape:
            self._send_json(HTTPStatus.OK, wrong_shape)
        elif faults.trickle_ms or faults.huge_body_mb:
            self._send_slowly_or_hugely(json.dumps(payload, ensure_ascii=False).encode(), faults)
        else:
            self._send_json(HTTPStatus.OK, payload)

    def _send_slowly_or_hugely(self, body: bytes, faults: Faults) -> None:
        """A 200 whose body trickles (a byte at a time) or is padded to a huge size (valid JSON
        followed by spaces, without a Content-Length: the client only learns it by reading)."""
        stopping = self.demo.stopping
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", JSON_TYPE)
        if faults.huge_body_mb:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if faults.trickle_ms:
                for byte in body:
                    self.wfile.write(bytes((byte,)))
                    self.wfile.flush()
                    if stopping.wait(faults.trickle_ms / 1000):
                        raise _Drop
            else:
                self.wfile.write(body)
            padding = faults.huge_body_mb * 1024 * 1024 - len(body)
            block = b" " * 65536
            while padding > 0 and not stopping.is_set():
                self.wfile.write(block[: min(padding, len(block))])
                padding -= len(block)
        except OSError:
            pass  # the client gave up, as it should
        self.close_connection = True

    def _send_json(self, status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        encoded = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, encoded, JSON_TYPE, headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._leave()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        # Always a Content-Length: without it a keep-alive client cannot tell where a body ends.
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the base class raises itself (malformed request, unknown method) as JSON."""
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method without a do_ handler
            code, message = HTTPStatus.METHOD_NOT_ALLOWED, f"Method {self.command} not allowed"
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self._send_json(
            code,
            {"error": message or HTTPStatus(code).phrase},
            [("Connection", "close")] + ([("Allow", "GET")] if code == 405 else []),
        )

    def log_message(self, format: str, *args: Any) -> None:
        if self.demo.verbose:
            super().log_message(format, *args)


# Timestamps that parse as ISO 8601 but fall outside years 1-9999 in UTC, and one that is no date.
ODD_TIMESTAMPS = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "yesterday-ish")


def _with_odd_timestamps(payload: Any) -> Any:
    """The answer with ODD_TIMESTAMPS as the created_at of its first contacts (copies)."""
    if isinstance(payload, dict):
        return {**payload, "created_at": ODD_TIMESTAMPS[0]}
    odd = [{**c, "created_at": t} for c, t in zip(payload, ODD_TIMESTAMPS, strict=False)]
    return odd + payload[len(odd) :]


def _query_params(query: str) -> dict[str, str]:
    # parse_qs, as a real server would: "+" means a space, so clients must send "%2B".
    # A repeated parameter counts once, with its last value.
    return {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}


def _integer(params: dict[str, str], name: str, default: int, *, minimum: int) -> int | None:
    """The parameter as a plain decimal integer >= minimum, the default if absent, else None."""
    text = params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):  # no signs, spaces, "1_000" or other digits
        return None
    # Beyond 18 digits the exact value cannot matter (and int() refuses huge strings).
    value = int(text) if len(text) <= 18 else 10**18
    return value if value >= minimum else None


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
