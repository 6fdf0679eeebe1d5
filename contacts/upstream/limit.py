"""The organisation's limit on calls in flight to Contactship, shared by every replica.

So that a few large exports cannot use up what the API allows an organisation and leave everyone
else's searches waiting, and so that exports can never starve page views: a call for a page view
may take any of the `limit` slots, a call of a scan (an export walking every page) only as long
as `reserve` slots stay free for page views.

With `REDIS_URL` the limit holds across replicas, on the dashboard's one Redis semaphore
(`contacts.semaphore`: a Lua script per attempt, Redis's own clock, a client of its own). A
replica that dies holding a slot gives it back after `hold` seconds. Without Redis the limit
holds per process. If Redis fails, calls go through: the limit protects, it never stops the
dashboard on its own; while Redis rests after a failure (see `contacts.cache`), the limit holds
per process.
"""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from contacts import semaphore
from contacts.cache import cache_usable, outage

log = logging.getLogger(__name__)

KEY = "dashboard:contactship:calls:v2:{org_id}"
POLL = 0.025  # seconds between tries while all slots are taken


class NoSlot(Exception):
    """Every slot this call may take stayed taken until the deadline."""


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
    taken = False
    try:
        while not semaphore.take(key, token, limit=fill, hold=hold)[0]:
            if time.monotonic() + POLL >= deadline:
                raise NoSlot
            time.sleep(POLL)
        taken = True
    except NoSlot:
        raise
    except Exception as exc:
        # Logged once by the cache's own breaker, which now rests Redis for a while; this call
        # goes through.
        outage.failed(exc)
    else:
        outage.succeeded()
    try:
        yield
    finally:
        if taken:
            semaphore.release(key, token)  # retried later, or expires, if Redis fails now


def in_flight(org_id: str) -> int:
    """How many calls for `org_id` hold a slot now: on every replica with Redis, else in this
    process."""
    if settings.REDIS_URL and cache_usable():
        try:
            return semaphore.count(KEY.format(org_id=org_id))
        except Exception:
            return 0
    with _local._changed:
        return _local._held.get(org_id, 0)
