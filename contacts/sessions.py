"""Sessions in the cache and the database (`cached_db`), carrying on when the cache fails.

Django's `cached_db` store survives a failed cache read but not the cache write that follows it
(nor a failed `exists` or `delete`), so a Redis outage made every logged-in request and every
login a 500. Here every cache operation of the store answers as a miss would when the cache
fails, and the database, which always holds the session, decides. It shares the cache's rest
period (`contacts.cache`), so a frozen Redis is not waited on for every request.
"""

from typing import Any

from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from .cache import ResilientRedisCache, outage


class _TolerantCache:
    """The few cache operations `cached_db` uses, never raising."""

    def __init__(self, cache) -> None:
        self._cache = cache

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
        self._call("set", None, key, value, timeout)

    def delete(self, key: str) -> bool:
        return self._call("delete", False, key)

    def __contains__(self, key: str) -> bool:
        return self._call("has_key", False, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # ResilientRedisCache already answers as a miss, and alone knows whether Redis did.
        if not isinstance(self._cache, ResilientRedisCache):
            self._cache = _TolerantCache(self._cache)
