"""Logging filters for the operator's log, and the request id every line carries.

The request id names one request to the dashboard from the proxy's access log to Contactship's:
`RequestIdMiddleware` sets it (the `X-Request-ID` the request came with, or a new one), each
log line carries it (`RequestIdFilter`), each call to Contactship sends it, and the audit event
keeps it. It is a context variable, so that it follows the request into the threads that make
its calls (they run in a copy of the request's context) and into a streamed answer.
"""

import logging
import re
import uuid
from contextvars import ContextVar

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


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is an everyday answer (a colleague following a link to another organisation), not
    an error: Django logs it with the PermissionDenied's traceback; keep its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
