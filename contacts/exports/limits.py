"""Exports' places, and the stream that holds a long request's place until its response ends.

An export (and a bulk lookup's file, which is one) first takes an export place
(`contacts.places`: per user across replicas, per process below its threads; `download` takes
it). A refused export is answered 429 (`PlacesBusy` says how many of the user's are running).
The place goes back when the download ends however it ends: completed, failed, or the client
gone (the server closes the response, which closes `LimitedStream`). A download also ends,
aborted, after DASHBOARD_EXPORT_MAX_SECONDS, so a reader that crawls cannot hold it for ever;
one that stops reading is cut sooner by the send timeout (`bound_send_time`).
"""

import logging
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from contacts.places import Place
from contacts.upstream.errors import ExportTimeLimit

log = logging.getLogger(__name__)


class LimitedStream:
    """A long response's chunks, holding its place until the response ends, and ended (aborted) once
    it has run DASHBOARD_EXPORT_MAX_SECONDS. The server calls `close()` when the response ends
    for any reason; an iterator rather than a generator, because a generator that was never
    started runs no `finally` when closed."""

    def __init__(self, chunks: Iterator[Any], ticket: Place, *, max_seconds: float) -> None:
        self.chunks = chunks
        self.ticket = ticket
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds

    def __iter__(self) -> "LimitedStream":
        return self

    def __next__(self) -> Any:
        try:
            if time.monotonic() > self.deadline:
                kind = self.ticket.kind
                error = ExportTimeLimit(f"{kind} ran longer than {self.max_seconds:g} s")
                log.warning(
                    "%s aborted user=%s: longer than DASHBOARD_EXPORT_MAX_SECONDS=%g",
                    kind,
                    self.ticket.user_id,
                    self.max_seconds,
                )
                throw = getattr(self.chunks, "throw", None)
                if throw is None:
                    raise error
                throw(error)  # so the export records the failure, then re-raises it
                raise error
            return next(self.chunks)
        except BaseException:
            self.ticket.release()
            raise

    def close(self) -> None:
        try:
            close = getattr(self.chunks, "close", None)
            if close is not None:
                close()
        finally:
            self.ticket.release()


def bound_send_time(request: HttpRequest) -> None:
    """Under gunicorn, a client that stops reading makes a send block: bound each send by
    DASHBOARD_EXPORT_SEND_TIMEOUT, after which the server drops the connection and the export
    (or lookup, or summary) ends, giving its place back (gunicorn makes the socket blocking
    again for the connection's next request)."""
    sock = request.META.get("gunicorn.socket")
    timeout = settings.DASHBOARD_EXPORT_SEND_TIMEOUT
    if sock is not None and timeout > 0:
        with suppress(OSError):
            sock.settimeout(timeout)
