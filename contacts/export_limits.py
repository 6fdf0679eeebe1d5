"""How many exports may run at once: per user, and per server process.

Under gunicorn's gthread workers a streamed export holds a thread for its whole life, so a member
opening a dozen slow exports could take every thread of a worker and stop the login page and
`/healthz` for everyone it serves. An export first takes a ticket here:

- at most DASHBOARD_EXPORTS_PER_USER per user, counted across every replica when the cache is
  Redis (a sorted set of holders, each with an expiry, so that a replica that dies holding one
  does not keep it), else per process;
- at most DASHBOARD_EXPORTS_PER_PROCESS in this process, below its thread count, so that page
  views always find a thread.

A refused export is answered 429 (`ExportsBusy` says how many of the user's are running). The
ticket goes back when the download ends however it ends: completed, failed, or the client gone
(the server closes the response, which closes `LimitedStream`). A download also ends, aborted,
after DASHBOARD_EXPORT_MAX_SECONDS, so a reader that stalls or crawls cannot hold it for ever.
"""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from .cache import cache_usable, outage
from .upstream.errors import ExportsBusy, ExportTimeLimit

log = logging.getLogger(__name__)

USER_KEY = "exports:v1:user:{user_id}"


_lock = threading.Lock()
_process_running = 0
_user_running: dict[str, int] = {}


def _redis():
    backend = caches["default"]
    if not isinstance(backend, RedisCache) or not cache_usable():
        return None
    return backend._cache.get_client(write=True)


@dataclass
class ExportTicket:
    user_id: str
    token: str
    shared: bool  # counted in Redis (else in this process's per-user count)
    released: bool = False

    def release(self) -> None:
        """Give the ticket back; once, however many paths call it."""
        global _process_running
        with _lock:
            if self.released:
                return
            self.released = True
            _process_running -= 1
            if not self.shared:
                _user_running[self.user_id] -= 1
                if not _user_running[self.user_id]:
                    del _user_running[self.user_id]
        # While Redis rests after a failure, the entry is left to expire rather than waited on.
        if self.shared and not outage.down:
            try:
                caches["default"]._cache.get_client(write=True).zrem(
                    _user_key(self.user_id), self.token
                )
            except Exception as exc:
                outage.failed(exc)  # the entry expires by itself


def _user_key(user_id: str) -> str:
    return cache.make_key(USER_KEY.format(user_id=user_id))


def _user_running_now(user_id: str) -> int:
    """The user's exports running, for the 429 page (its own count, shared or local)."""
    client = _redis()
    if client is not None:
        try:
            key = _user_key(user_id)
            client.zremrangebyscore(key, "-inf", time.time())
            return int(client.zcard(key))
        except Exception as exc:
            outage.failed(exc)
    with _lock:
        return _user_running.get(user_id, 0)


def export_ticket(user_id: str) -> ExportTicket:
    """A ticket for one export by `user_id`, or ExportsBusy."""
    global _process_running
    per_user = settings.DASHBOARD_EXPORTS_PER_USER
    per_process = settings.DASHBOARD_EXPORTS_PER_PROCESS
    token = uuid.uuid4().hex
    with _lock:
        if per_process > 0 and _process_running >= per_process:
            busy = ExportsBusy(scope="process", running=0, limit=per_process)
        else:
            busy = None
            _process_running += 1
    if busy is not None:
        busy.running = _user_running_now(user_id)
        raise busy
    try:
        return _user_ticket(user_id, token, per_user)
    except BaseException:
        with _lock:
            _process_running -= 1
        raise


def _user_ticket(user_id: str, token: str, limit: int) -> ExportTicket:
    client = _redis()
    if client is not None:
        key = _user_key(user_id)
        hold = settings.DASHBOARD_EXPORT_MAX_SECONDS + 60
        try:
            now = time.time()
            pipe = client.pipeline()
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {token: now + hold})
            pipe.zrank(key, token)
            pipe.expire(key, int(hold) + 1)
            rank = pipe.execute()[2]
        except Exception as exc:
            outage.failed(exc)  # counted in this process instead, below
        else:
            outage.succeeded()
            if limit > 0 and rank is not None and rank >= limit:
                try:
                    client.zrem(key, token)
                except Exception as exc:
                    outage.failed(exc)
                raise ExportsBusy(scope="user", running=int(rank), limit=limit)
            return ExportTicket(user_id, token, shared=True)
    with _lock:
        running = _user_running.get(user_id, 0)
        if limit > 0 and running >= limit:
            raise ExportsBusy(scope="user", running=running, limit=limit)
        _user_running[user_id] = running + 1
    return ExportTicket(user_id, token, shared=False)


class LimitedStream:
    """The export's bytes, holding its ticket until the download ends, and ended (aborted) once
    it has run DASHBOARD_EXPORT_MAX_SECONDS. The server calls `close()` when the response ends
    for any reason; an iterator rather than a generator, because a generator that was never
    started runs no `finally` when closed."""

    def __init__(self, chunks: Iterator[bytes], ticket: ExportTicket, *, max_seconds: float):
        self.chunks = chunks
        self.ticket = ticket
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds

    def __iter__(self) -> "LimitedStream":
        return self

    def __next__(self) -> bytes:
        try:
            if time.monotonic() > self.deadline:
                error = ExportTimeLimit(f"export ran longer than {self.max_seconds:g} s")
                log.warning(
                    "export aborted user=%s: longer than DASHBOARD_EXPORT_MAX_SECONDS=%g",
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
