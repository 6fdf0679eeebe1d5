"""How far a web export has got, for the search page to show while the browser downloads.

The page makes a random token and adds it to the download link (`?progress=<token>`); the export
records its state under that token in the cache as it streams, and the page polls
`export-progress.json?token=<token>`. Only counts and a state are kept, never a contact. The key
holds the organisation and the user, so nobody reads another's progress even with the token.
With several worker processes the cache must be shared (`REDIS_URL`), or a poll may reach a
process that has not seen the export; the page then just says the download is being prepared.
"""

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.core.cache import cache

from contacts import errors
from contacts.exports.layout import Progress
from contacts.exports.streaming import primed

log = logging.getLogger(__name__)

PARAM = "progress"
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
TTL = 60 * 60  # seconds a finished export's state stays readable
INTERVAL = 0.5  # seconds between two writes of a running export's counts

RUNNING, DONE, CANCELLED, UNKNOWN = "running", "done", "cancelled", "unknown"
FAILED = errors.FAILED


def valid_token(token: str | None) -> bool:
    return bool(token) and TOKEN.fullmatch(token) is not None


def _key(*, organisation_id: str, user_id: object, token: str) -> str:
    return f"export-progress:{organisation_id}:{user_id}:{token}"


@dataclass(eq=False)
class ProgressTracker(Progress):
    """An export's counters that also record themselves under the page's token.

    The formats add to `rows` and then to `pages` once per page; each page's count is written,
    at most every INTERVAL seconds, and the end state always. A cache that fails stops the
    recording, never the export.
    """

    key: str = ""
    _written: float = field(default=0.0, repr=False)
    _broken: bool = field(default=False, repr=False)

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        if name == "pages" and getattr(self, "key", ""):
            now = time.monotonic()
            if now - self._written >= INTERVAL:
                self._written = now
                self._record(RUNNING)

    def _record(self, state: str, reason: str = "") -> None:
        if not self.key or self._broken:
            return
        try:
            cache.set(self.key, {"state": state, "rows": self.rows, "reason": reason}, TTL)
        except Exception:
            self._broken = True
            log.warning("export progress not recorded: the cache failed", exc_info=True)

    def start(self) -> None:
        self._record(RUNNING)  # the first page's count follows at once

    def done(self) -> None:
        self._record(DONE)

    def failed(self, error: BaseException) -> None:
        self._record(FAILED, errors.progress_code(error))

    def cancelled(self) -> None:
        self._record(CANCELLED)

    def refused(self, status: int) -> None:
        self._record(FAILED, errors.refusal_code(status))


def tracker(*, organisation_id: str, user_id: object, token: str | None) -> ProgressTracker:
    """Counters for one export; recording only when the page sent a valid token."""
    key = ""
    if valid_token(token):
        key = _key(organisation_id=organisation_id, user_id=user_id, token=token)
    return ProgressTracker(key=key)


def read(*, organisation_id: str, user_id: object, token: str) -> dict:
    """What the page shows: state, rows so far, and for a failure the reason in words."""
    try:
        found = cache.get(_key(organisation_id=organisation_id, user_id=user_id, token=token))
    except Exception:
        log.warning("export progress not read: the cache failed", exc_info=True)
        found = None
    if not found:
        return {"state": UNKNOWN, "rows": 0, "reason": ""}
    reason = errors.progress_reason(found["reason"]) if found["state"] == FAILED else ""
    return {"state": found["state"], "rows": found["rows"], "reason": reason}


def recorded(view: Callable) -> Callable:
    """Record, under the page's token, how an export view answered: a failure raised (an
    upstream error, before any byte) or an answer refusing the export (a 4xx/5xx page) becomes
    "failed" with its reason, so that the page explains a download the browser reports as
    failed. The view finds the counters in `request.export_progress`, and calls their `start()`
    once the export has its place.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        progress = tracker(
            organisation_id=request.organisation.id,
            user_id=request.user.pk,
            token=request.GET.get(PARAM),
        )
        request.export_progress = progress
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            progress.failed(exc)
            raise
        status = response.status_code
        if status >= 400 and errors.recorded_refusal(status) and not response.streaming:
            progress.refused(status)
        return response

    return wrapped


def started(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes, the first already made: a format that sends nothing before it is
    complete (XLSX) then fails, if it does, while the view can still answer with a page."""
    first = next(chunks, b"")

    @primed
    def resume() -> Iterator[bytes]:
        try:
            yield  # primed: closing it closes the export even before its first byte
            if first:
                yield first
            yield from chunks
        finally:
            chunks.close()

    return resume()


@primed
def watch(chunks, progress: ProgressTracker):
    """The export's bytes, passed on unchanged, recording how the stream ends."""
    try:
        yield  # primed: a download dropped before its first byte is recorded as cancelled
        yield from chunks
    except GeneratorExit:
        progress.cancelled()
        raise
    except Exception as exc:
        progress.failed(exc)
        raise
    else:
        progress.done()
    finally:
        chunks.close()
