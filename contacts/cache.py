"""Django's Redis cache, made to carry on when Redis does not answer.

Everything the dashboard keeps in Redis can be done without it for a while: cached searches are
asked again, circuit breakers and call slots fall back to this process, and sessions
(`cached_db`) are read from and written to the database. So every operation here that fails
with a Redis or socket error answers as a cache miss would (`get` gives the default, `set` keeps
nothing) instead of raising. Django's `cached_db` session store, for one, survives a failed
`get` but not the `set` after it: without this every logged-in request was a 500.

A Redis that is down, or frozen (each call then waits for the socket timeout), must not cost
every operation that wait: after a failure this process stops asking Redis for
`DASHBOARD_CACHE_RETRY_SECONDS`, then lets one call through to see whether it is back. The
outage and the recovery are logged once each.
"""

import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a Redis that is down, frozen or unreachable raises (redis-py wraps most socket errors).
FAILURES = (RedisError, OSError)


class _Outage:
    """This process's view of whether Redis answers: a small circuit breaker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self._on_recovery: list[Callable[[], None]] = []

    def on_recovery(self, callback: Callable[[], None]) -> None:
        """Run `callback` each time Redis answers again after an outage: work that could not be
        done in Redis meanwhile (a logout's delete) is done then."""
        if callback not in self._on_recovery:
            self._on_recovery.append(callback)

    def allow(self) -> bool:
        """May an operation ask Redis now? While down, one caller per pause is let through."""
        if not self._down:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + _pause()  # this caller tries; the others keep skipping
            return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            was_down, self._down = self._down, True
            self._retry_at = time.monotonic() + _pause()
        if not was_down:
            log.warning(
                "cache unavailable (%s: %s): carrying on without it, trying again every %s s",
                type(exc).__name__,
                exc,
                _pause(),
            )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.warning("cache answering again")
                for callback in self._on_recovery:
                    try:
                        callback()
                    except Exception as exc:  # it must never fail the operation that noticed
                        log.warning(
                            "after the cache came back, %s failed: %s",
                            getattr(callback, "__name__", callback),
                            type(exc).__name__,
                        )

    @property
    def down(self) -> bool:
        return self._down

    def reset(self) -> None:
        with self._lock:
            self._down = False
            self._retry_at = 0.0


outage = _Outage()


def _pause() -> float:
    return settings.DASHBOARD_CACHE_RETRY_SECONDS


def cache_usable() -> bool:
    """Whether Redis may be asked now (for code that talks to Redis itself, like call slots)."""
    return outage.allow()


def _tolerant(name: str, fallback: Any):
    operation = getattr(RedisCache, name)

    def method(self, *args, **kwargs):
        if not outage.allow():
            return fallback(*args, **kwargs) if callable(fallback) else fallback
        try:
            result = operation(self, *args, **kwargs)
        except FAILURES as exc:
            outage.failed(exc)
            self.drop_idle_connections()
            return fallback(*args, **kwargs) if callable(fallback) else fallback
        outage.succeeded()
        return result

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, answering as a miss would while Redis does not answer."
    return method


class ResilientRedisCache(RedisCache):
    """`RedisCache` whose operations never raise because Redis is down or frozen."""

    def drop_idle_connections(self) -> None:
        """Close the pooled connections nobody is using: after a Redis restart each would fail
        once when next used, and each failure would start another rest period."""
        for pool in list(getattr(self._cache, "_pools", {}).values()):
            # Best effort: a connection that cannot be closed fails and closes when used.
            with suppress(Exception):
                pool.disconnect(inuse_connections=False)

    get = _tolerant("get", lambda key, default=None, version=None: default)
    get_many = _tolerant("get_many", lambda keys, version=None: {})
    has_key = _tolerant("has_key", False)
    set = _tolerant("set", None)
    add = _tolerant("add", False)
    touch = _tolerant("touch", False)
    delete = _tolerant("delete", False)
    delete_many = _tolerant("delete_many", None)
    clear = _tolerant("clear", None)
    # Failed keys, as Django's set_many reports them.
    set_many = _tolerant("set_many", lambda data, timeout=DEFAULT_TIMEOUT, version=None: list(data))
    # A counter that cannot be read starts again: `delta`, as if the key were new.
    incr = _tolerant("incr", lambda key, delta=1, version=None: delta)


class TolerantCache:
    """A cache whose get, set, delete and `in` never raise: a failure answers as a miss would
    and rests the cache (`outage`), for stores that must carry on without it (sessions, rights).
    A value is kept at most `max_timeout` seconds (None: as asked)."""

    def __init__(self, cache, *, max_timeout: int | None = None) -> None:
        self._cache = cache
        self._max_timeout = max_timeout

    def _call(self, name: str, fallback: Any, *args: Any) -> Any:
        if not outage.allow():
            return fallback
        try:
            result = getattr(self._cache, name)(*args)
        except Exception as exc:
            outage.failed(exc)
            return fallback
        outage.succeeded()
        return result

    def get(self, key: str, default: Any = None) -> Any:
        return self._call("get", default, key, default)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> None:
        cap = self._max_timeout
        if cap is not None and (timeout is DEFAULT_TIMEOUT or timeout is None or timeout > cap):
            timeout = cap
        self._call("set", None, key, value, timeout)

    def delete(self, key: str) -> bool:
        return self._call("delete", False, key)

    def __contains__(self, key: str) -> bool:
        return self._call("has_key", False, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)
