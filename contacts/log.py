"""Logging filters for the operator's log, and the request id every line carries.

With DASHBOARD_LOG_FORMAT=json (`log_format`), every line is one JSON object (`JsonFormatter`),
the dashboard's and gunicorn's alike (dashboard/gunicorn.py uses the same formatter).

The request id names one request to the dashboard from the proxy's access log to Contactship's:
`RequestIdMiddleware` sets it (the `X-Request-ID` the request came with, or a new one), each
log line carries it (`RequestIdFilter`), each call to Contactship sends it, and the audit event
keeps it. It is a context variable, so that it follows the request into the threads that make
its calls (they run in a copy of the request's context) and into a streamed answer.
"""

import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# What a request id sent in may be; anything else is replaced by a new one.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
NO_REQUEST_ID = "-"  # on lines written outside a request

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from(header: str | None) -> str:
    """The id a request sent in, if it is a valid one; else a new one."""
    if header and VALID_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being served ("" outside a request: a command, a worker's
    start-up)."""
    return REQUEST_ID.get() or ""


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (`-` outside a request); attached to the handlers, so
    that records of every logger have it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get() or NO_REQUEST_ID
        return True


LOG_FORMATS = ("json", "text")


def log_format(value: str | None, *, debug: bool) -> str:
    """DASHBOARD_LOG_FORMAT: `json` or `text`; unset, `text` in development (DJANGO_DEBUG=1)
    and `json` otherwise."""
    chosen = (value or "").strip().lower() or ("text" if debug else "json")
    if chosen not in LOG_FORMATS:
        raise ValueError(f"DASHBOARD_LOG_FORMAT must be json or text, not {value!r}")
    return chosen


# What a record may add to its JSON line, by name. Nothing else goes out: Django puts the
# request itself on some records (its repr holds the query string, where what people type into
# the search is), and gunicorn every header and the query string among its access atoms.
RECORD_FIELDS = (
    "upstream",  # an upstream call's fields (contacts.upstream.client)
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "organisation",  # the request's line (contacts.request)
    "status_code",  # django.request's
)


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: `time` (UTC, ISO 8601), `level`, `logger`, `event` (the
    message), `request_id` (null outside a request), the fields of `RECORD_FIELDS` a record
    has, `exc_info` for a traceback; for gunicorn's access line its method, path (without
    the query string), status, duration, bytes and the answer's request id."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        created = datetime.fromtimestamp(record.created, UTC)
        log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["event"] = record.message
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        log_data["request_id"] = None if request_id in (None, NO_REQUEST_ID) else request_id
        for name in RECORD_FIELDS:
            if name in record.__dict__:
                log_data[name] = record.__dict__[name]
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            log_data.update(_access_fields(record.args))
        for name in ("exc_info", "stack_info"):
            if message_dict.get(name):
                log_data[name] = message_dict[name]


def _access_fields(atoms: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of gunicorn's access line, from its atoms: never the query string (`q`,
    `r`), the referrer or a request header."""
    status = str(atoms.get("s", ""))
    request_id = atoms.get("{x-request-id}o")
    return {
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": int(status) if status.isdigit() else None,
        "duration_ms": atoms.get("M"),
        "bytes": atoms.get("B"),
        "remote_addr": atoms.get("h"),
        "request_id": request_id if isinstance(request_id, str) else None,
    }


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is an everyday answer (a colleague following a link to another organisation), not
    an error: Django logs it with the PermissionDenied's traceback; keep its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
