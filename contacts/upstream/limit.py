"""The organisation's limit on calls in flight to Contactship, shared by every replica.

So that a few large exports cannot use up what the API allows an organisation and leave everyone
else's searches waiting, and so that exports can never starve page views: a call for a page view
may take any of the `limit` slots, a call of a scan (an export walking every page) only as long
as `reserve` slots stay free for page views.

With `REDIS_URL` the limit holds across replicas: each attempt to take a slot is one Lua script
(atomic in Redis), the holders are a sorted set scored by when their hold expires, and every time
is Redis's own clock (`TIME`), never a replica's, so a replica whose clock is off cannot expire
another's slot early or keep its own too long. A replica that dies holding a slot gives it back
after `hold` seconds. Without Redis the limit holds per process. If Redis fails, calls go
through: the limit protects, it never stops the dashboard on its own; while Redis rests after a
failure (see `contacts.cache`), the limit holds per process.
"""

import functools
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from contacts.cache import cache_usable, outage

log = logging.getLogger(__name__)

KEY = "dashboard:contactship:calls:v2:{org_id}"
POLL = 0.025  # seconds between tries while all slots are taken
REDIS_TIMEOUT = 1.0  # seconds: a Redis that stops answering must not hold a call longer

# KEYS[1]: the organisation's holders. ARGV: the token, the slots this call may fill, the hold
# in milliseconds. Returns 1 if the slot was taken.
TAKE_SLOT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
local hold = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], ms + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], hold + 1000)
return 1
"""


class NoSlot(Exception):
    """Every slot this call may take stayed taken until the deadline."""


@functools.cache
def _redis(url: str) -> tuple[redis.Redis, redis.commands.core.Script]:
    """A client of its own for `url` (never Django's cache client), and the script on it."""
    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )
    return client, client.register_script(TAKE_SLOT)


class _LocalSlots:
    """The same limit within one process, for deployments without Redis."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._changed = threading.Condition()

    def take(self, org_id: str, fill: int, deadline: float) -> None:
        with self._changed:
            while self._held.get(org_id, 0) >= fill:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoSlot
                self._changed.wait(remaining)
            self._held[org_id] = self._held.get(org_id, 0) + 1

    def give_back(self, org_id: str) -> None:
        with self._changed:
            self._held[org_id] -= 1
            self._changed.notify_all()


_local = _LocalSlots()


def slots_to_fill(limit: int, reserve: int) -> int:
    """How many of `limit` slots a call that must leave `reserve` free may fill (at least one)."""
    return max(1, limit - max(0, reserve))


@contextmanager
def call_slot(
    org_id: str, *, limit: int, deadline: float, hold: float, reserve: int = 0
) -> Iterator[None]:
    """Hold one of `limit` slots for `org_id` while the block runs, leaving `reserve` of them
    free for other calls; wait until `deadline` (a `time.monotonic()` value) for one, then raise
    NoSlot. `hold` (seconds) bounds how long a slot can outlive a replica that died holding it.
    `limit` 0: no limit."""
    if limit <= 0:
        yield
        return
    fill = slots_to_fill(limit, reserve)
    if not settings.REDIS_URL or not cache_usable():
        _local.take(org_id, fill, deadline)
        try:
            yield
        finally:
            _local.give_back(org_id)
        return

    key = KEY.format(org_id=org_id)
    token = uuid.uuid4().hex
    client = None
    try:
        client, take_slot = _redis(settings.REDIS_URL)
        while not take_slot(keys=[key], args=[token, fill, round(hold * 1000)]):
            if time.monotonic() + POLL >= deadline:
                raise NoSlot
            time.sleep(POLL)
    except NoSlot:
        raise
    except Exception as exc:
        # Logged once by the cache's own breaker, which now rests Redis for a while; this call
        # goes through.
        outage.failed(exc)
        client = None
    else:
        outage.succeeded()
    try:
        yield
    finally:
        if client is not None:
            try:
                client.zrem(key, token)
            except Exception as exc:
                outage.failed(exc)  # the slot expires by itself
