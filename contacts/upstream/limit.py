"""A limit on calls in flight to Contactship per organisation.

So that a few large exports (each keeps a call going for minutes) cannot use up what the API
allows an organisation and leave everyone else's searches waiting. With Redis the limit holds
across every replica (a sorted set of holders, each with an expiry so that a replica that dies
holding a slot does not keep it); without, per process. If Redis fails, calls go through: the
limit protects, it never stops the dashboard on its own.
"""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from contacts.cache import cache_usable, outage

log = logging.getLogger(__name__)

KEY = "contactship:slots:v1:{org_id}"
POLL = 0.025  # seconds between tries while all slots are taken

_local: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_local_lock = threading.Lock()


class NoSlot(Exception):
    """Every slot stayed taken until the deadline."""


def _local_semaphore(org_id: str, limit: int) -> threading.BoundedSemaphore:
    with _local_lock:
        return _local.setdefault((org_id, limit), threading.BoundedSemaphore(limit))


def _redis_client():
    """The raw Redis client behind Django's cache, or None when the cache is not Redis (or is
    resting after a failure: see `contacts.cache`; the limit then holds per process)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache) or not cache_usable():
        return None
    return backend._cache.get_client(write=True)


@contextmanager
def call_slot(org_id: str, *, limit: int, deadline: float, hold: float) -> Iterator[None]:
    """Hold one of `limit` slots for `org_id` while the block runs; wait until `deadline`
    (a `time.monotonic()` value) for one, then raise NoSlot. `hold` bounds how long a slot can
    outlive a replica that died holding it."""
    if limit <= 0:
        yield
        return
    client = None
    try:
        client = _redis_client()
    except Exception:
        log.warning("call slots: cache backend unavailable, no shared limit", exc_info=True)
    if client is None:
        semaphore = _local_semaphore(org_id, limit)
        if not semaphore.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise NoSlot
        try:
            yield
        finally:
            semaphore.release()
        return

    key = cache.make_key(KEY.format(org_id=org_id))
    token = uuid.uuid4().hex
    held = False
    try:
        while True:
            now = time.time()
            pipe = client.pipeline()
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {token: now + hold})
            pipe.zrank(key, token)
            pipe.expire(key, int(hold) + 1)
            rank = pipe.execute()[2]
            if rank is not None and rank < limit:
                held = True
                break
            client.zrem(key, token)
            if time.monotonic() + POLL >= deadline:
                raise NoSlot
            time.sleep(POLL)
    except NoSlot:
        raise
    except Exception as exc:
        # Logged once by the cache's own breaker, which now rests Redis for a while.
        outage.failed(exc)
    else:
        outage.succeeded()
    try:
        yield
    finally:
        if held:
            try:
                client.zrem(key, token)
            except Exception as exc:
                outage.failed(exc)  # the slot expires by itself
