"""Sessions in the cache and the database (`cached_db`), carrying on when the cache fails.

Django's `cached_db` store survives a failed cache read but not the cache write that follows it
(nor a failed `exists` or `delete`), so a Redis outage made every logged-in request and every
login a 500. Here every cache operation of the store answers as a miss would when the cache
fails, and the database, which always holds the session, decides. It shares the cache's rest
period (`contacts.cache`), so a frozen Redis is not waited on for every request.

A session that ends (logout, a new login) while the cache cannot be told leaves a tombstone in
the database; when Redis answers again the cached copy is deleted, so an old cookie copied before
the logout does not work again once Redis is back.

Without Redis the copies live in each process's memory, where a logout in one process cannot
delete another's: there a copy lives at most LOCAL_COPY_SECONDS, after which the database decides.
"""

import logging
import threading
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from contacts.cache import ResilientRedisCache, TolerantCache, outage
from contacts.models import SessionTombstone

log = logging.getLogger(__name__)

LOCAL_COPY_SECONDS = 60  # how long a session stays in one process's memory


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # ResilientRedisCache already answers as a miss, and alone knows whether Redis did.
        if not isinstance(self._cache, ResilientRedisCache):
            local = isinstance(self._cache, LocMemCache)
            self._cache = TolerantCache(
                self._cache, max_timeout=LOCAL_COPY_SECONDS if local else None
            )

    def load(self) -> dict[str, Any]:
        # Due when the process starts (one that wrote tombstones may have died since) and each
        # time Redis answers again; done here, in a request's thread and before any cached
        # session is read, rather than in whichever thread noticed Redis was back (a
        # background thread's database connection would never be closed).
        if _forget_due.is_set() and not outage.down:
            _forget_due.clear()
            forget_ended_sessions()
        if outage.down:
            # Not even the one try per rest period: the try that finds Redis back would read a
            # copy of a session that ended meanwhile, before its tombstone is dealt with.
            stored = self._get_session_from_db()
            return self.decode(stored.session_data) if stored else {}
        return super().load()

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        super().delete(session_key)
        if key and outage.down:
            # The cache could not be told: once it is back, its copy would open the session
            # again (a cached session is never checked against the database).
            SessionTombstone.objects.update_or_create(session_key=key)


_forget_due = threading.Event()
_forget_due.set()


def forget_ended_sessions() -> None:
    """Delete from the cache the sessions that ended while it was unreachable."""
    # Its own deletes may be what tells the cache's breaker that Redis is back: not again.
    if not _forgetting.acquire(blocking=False):
        return
    try:
        _forget_ended_sessions()
    finally:
        _forgetting.release()


_forgetting = threading.Lock()


def _forget_ended_sessions() -> None:
    keys = list(SessionTombstone.objects.values_list("session_key", flat=True)[:1000])
    if not keys:
        return
    cache = caches[settings.SESSION_CACHE_ALIAS]
    done = []
    for key in keys:
        if not outage.allow():
            break
        try:
            cache.delete(SessionStore.cache_key_prefix + key)
        except Exception as exc:  # a plain RedisCache raises; try again at the next recovery
            outage.failed(exc)
        if outage.down:
            _forget_due.set()  # the rest when Redis is back again
            break
        done.append(key)
    SessionTombstone.objects.filter(session_key__in=done).delete()
    log.info("sessions ended during a cache outage, now deleted from the cache: %d", len(done))


outage.on_recovery(_forget_due.set)
