"""The demo API's answers, one request at a time: faults first, then the two contact endpoints
(the list, filtered and paged, and one contact by id, email or phone), as JSON.

``DemoRequestHandler`` reads the current faults and counts from the server it runs in
(``DemoState``: ``contacts.demo.server.DemoServer``, which owns the sockets and the state shared
between requests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from threading import Event
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

from contacts.demo import data
from contacts.demo.faults import Faults

API_PREFIX = "/v1"
CONTACTS_PATH = f"{API_PREFIX}/contacts"
HEALTH_PATH = "/healthz"
STATS_PATH = "/_demo/stats"  # concurrency seen, for tests and benchmarks; no key, no faults

DEFAULT_LIMIT = 100
MAX_LIMIT = 100  # larger limits are capped, like the real API's 100 contacts per request
MAX_FILTER_LENGTH = 200
FILTERS = ("full_name", "email", "phone_number")
HANG_STEP_SECONDS = 0.05  # how often a hanging request checks whether the server is stopping

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


class DemoState(Protocol):
    """What a request handler asks of its server: keys, faults and the counts they need."""

    keys: dict[str, str]  # api key -> organisation id
    faults: Faults
    stopping: Event
    verbose: bool

    def count_request(self, path: str = "") -> int: ...
    def arrive(self, limit: int) -> bool: ...
    def leave(self) -> None: ...
    def stats(self) -> dict[str, int]: ...
    def roll(self) -> float: ...


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
    def demo(self) -> DemoState:
        return cast(DemoState, self.server)

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

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """With --verbose, each request's line ends with the X-Request-ID it came with, as a
        real API's log would: the dashboard's logs name the same id."""
        headers = getattr(self, "headers", None)  # none if the request line was unreadable
        request_id = (headers.get("X-Request-ID") if headers is not None else None) or "-"
        self.log_message(
            '"%s" %s %s request_id=%s', self.requestline, str(code), str(size), request_id
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
