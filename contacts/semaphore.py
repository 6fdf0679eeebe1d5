"""One counting semaphore in Redis, shared by every replica: the organisation's call slots
(`contacts.upstream.limit`) and the places of long requests (`contacts.places`) both use it.

The holders of one semaphore are a sorted set, each scored by when its hold expires. Taking a
place is one Lua script, so two replicas can never both take the last one, and every time is
Redis's own clock (`TIME`), never a replica's: a replica whose clock is off can neither expire
another's hold early nor keep its own too long. It talks to Redis through a client of its own
with a short socket timeout (never Django's cache client, whose private API changes and whose
timeouts are the cache's), so a frozen Redis costs a caller at most that timeout.

A hold is short and, for holders that may run long, renewed while they run (`Renewer`): a replica
that dies, or a release lost while Redis was down or frozen, leaves a place taken for at most one
hold, not for as long as the longest request could have lasted. A release that fails is tried
again by the renewer when Redis answers; if Redis never comes back, the hold expires anyway.
"""

import functools
import logging
import threading
from collections.abc import Iterable

import redis
from django.conf import settings

from contacts.cache import cache_usable, outage

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds: a Redis that stops answering must not hold a request longer
PENDING_RELEASES_MAX = 10_000  # beyond this, failed releases are left to expire

# KEYS[1]: the holders. ARGV: the token, the limit (0: none), the hold in milliseconds.
# Returns {1 if taken, the holders now (with this one if taken)}.
TAKE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local held = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
if limit > 0 and held >= limit then
    return {0, held}
end
local hold = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], ms + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], hold + 1000)
return {1, held + 1}
"""

# KEYS[1]: the holders. ARGV: the token, the hold in milliseconds. Extends a hold still there;
# one that has expired (or was lost with a Redis restart) is not taken again behind the limit's
# back. Returns 1 if renewed.
RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local hold = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', ms + hold, ARGV[1]) == 0 then
    return 0
end
redis.call('PEXPIRE', KEYS[1], hold + 1000)
return 1
"""

# KEYS[1]: the holders. Returns how many hold it now (expired holders removed first).
COUNT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
return redis.call('ZCARD', KEYS[1])
"""


class _Scripts:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self.take = self.client.register_script(TAKE)
        self.renew = self.client.register_script(RENEW)
        self.count = self.client.register_script(COUNT)


@functools.cache
def _scripts(url: str) -> _Scripts:
    return _Scripts(url)


def shared() -> bool:
    """Whether holds go to Redis now: REDIS_URL is set and this process is not resting it."""
    return bool(settings.REDIS_URL) and cache_usable()


def take(key: str, token: str, *, limit: int, hold: float) -> tuple[bool, int]:
    """Try to take one of `limit` places of `key` for `hold` seconds: (taken, holders now).
    Raises the Redis or socket error; the caller decides what a Redis that fails means."""
    scripts = _scripts(settings.REDIS_URL)
    taken, held = scripts.take(keys=[key], args=[token, max(0, limit), _ms(hold)])
    return bool(taken), int(held)


def count(key: str) -> int:
    """How many hold `key` now. Raises the Redis or socket error."""
    return int(_scripts(settings.REDIS_URL).count(keys=[key]))


def release(key: str, token: str) -> None:
    """Give a place back. A release that fails is tried again later by the renewer (if Redis
    is back by then) and otherwise expires with its hold."""
    if not settings.REDIS_URL:
        return
    if cache_usable():
        try:
            _scripts(settings.REDIS_URL).client.zrem(key, token)
        except Exception as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
            return
    renewer.retry_release(key, token)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class Renewer:
    """One thread per process renewing the holds of the requests still running, every third of
    DASHBOARD_PLACE_HOLD_SECONDS, and retrying releases that failed. Started on first use (so
    after gunicorn has forked its workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, str] = {}  # token -> key
        self._pending: dict[str, str] = {}  # token -> key: releases to try again
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, key: str, token: str) -> None:
        with self._lock:
            self._held[token] = key
            self._start_locked()
        self._wake.set()  # the hold may be shorter than the renewer's current pause

    def forget(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def retry_release(self, key: str, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)
            if len(self._pending) < PENDING_RELEASES_MAX:
                self._pending[token] = key
            self._start_locked()

    def _start_locked(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="place-renewer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(max(0.1, settings.DASHBOARD_PLACE_HOLD_SECONDS / 3))
            self._wake.clear()
            try:
                self.renew_now()
            except Exception:  # the thread must outlive any surprise; holds expire meanwhile
                log.exception("renewing places failed")

    def renew_now(self) -> None:
        """Renew every hold still running and retry the failed releases, in one round trip."""
        with self._lock:
            held = list(self._held.items())
            pending = list(self._pending.items())
        if not (held or pending) or not settings.REDIS_URL or not cache_usable():
            return
        scripts = _scripts(settings.REDIS_URL)
        hold = _ms(settings.DASHBOARD_PLACE_HOLD_SECONDS)
        try:
            pipe = scripts.client.pipeline(transaction=False)
            for token, key in held:
                scripts.renew(keys=[key], args=[token, hold], client=pipe)
            for token, key in pending:
                pipe.zrem(key, token)
            pipe.execute()
        except Exception as exc:
            outage.failed(exc)
            return
        outage.succeeded()
        with self._lock:
            for token, _key in pending:
                self._pending.pop(token, None)

    def clear(self) -> None:
        """Renew nothing more and retry nothing (for tests that reset this process's places)."""
        with self._lock:
            self._held.clear()
            self._pending.clear()

    def pending(self) -> Iterable[str]:
        with self._lock:
            return list(self._pending)


renewer = Renewer()
