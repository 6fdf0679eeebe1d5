"""Places for long requests: exports, summaries and page lookups, each bounded per person and per
server process, so that one member cannot take every thread of a replica.

Under gunicorn's gthread workers a streamed export, a summary being counted or a bulk lookup
holds a thread for its whole life, and each keeps Contactship busy. Each first takes a place of
its kind here:

- at most DASHBOARD_<KIND>_PER_USER of that kind per person, counted across every replica when
  REDIS_URL is set (`contacts.semaphore`: short holds renewed while the request runs, so a
  replica that dies or a release lost in a Redis blip gives its place back within a hold,
  DASHBOARD_PLACE_HOLD_SECONDS), else, or while Redis does not answer, in this process;
- at most DASHBOARD_<KIND>_PER_PROCESS of that kind in this process, and at most
  DASHBOARD_PLACES_PER_PROCESS of all kinds together, below the process's threads, so that page
  views (the login page, `/healthz`, another person's search) always find a thread.

Beyond them the request is refused at once (`PlacesBusy`, answered 429 with `Retry-After`). The
place goes back when the request ends however it ends; `LimitedStream` (`contacts.exports.limits`)
gives a streamed response's place back when the server closes it.
"""

import logging
import threading
import uuid
from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from contacts import semaphore
from contacts.cache import outage
from contacts.upstream.errors import PlacesBusy

log = logging.getLogger(__name__)

EXPORT, SUMMARY, LOOKUP = "export", "summary", "lookup"
# Each kind's settings: (per user, per process).
LIMITS = {
    EXPORT: ("DASHBOARD_EXPORTS_PER_USER", "DASHBOARD_EXPORTS_PER_PROCESS"),
    SUMMARY: ("DASHBOARD_SUMMARIES_PER_USER", "DASHBOARD_SUMMARIES_PER_PROCESS"),
    LOOKUP: ("DASHBOARD_LOOKUPS_PER_USER", "DASHBOARD_LOOKUPS_PER_PROCESS"),
}
KEY = "dashboard:places:v1:{kind}:user:{user_id}"

_lock = threading.Lock()
_process = Counter()  # kind -> places taken in this process
_local_users = Counter()  # (kind, user) -> places counted here rather than in Redis


@dataclass
class Place:
    kind: str
    user_id: str
    token: str
    shared: bool  # counted in Redis (else in this process's per-user count)
    released: bool = False

    def release(self) -> None:
        """Give the place back; once, however many paths call it."""
        with _lock:
            if self.released:
                return
            self.released = True
            _process[self.kind] -= 1
            if not self.shared:
                _local_users[self.kind, self.user_id] -= 1
                if not _local_users[self.kind, self.user_id]:
                    del _local_users[self.kind, self.user_id]
        if self.shared:
            semaphore.renewer.forget(self.token)
            semaphore.release(_key(self.kind, self.user_id), self.token)


def _key(kind: str, user_id: str) -> str:
    return KEY.format(kind=kind, user_id=user_id)


def taken(kind: str | None = None) -> int:
    """Places taken in this process now (of `kind`, or of every kind)."""
    with _lock:
        return _process[kind] if kind else sum(_process.values())


def local_users(kind: str) -> dict[str, int]:
    """The places of `kind` counted in this process rather than in Redis, by user (a copy)."""
    with _lock:
        return {user: n for (k, user), n in _local_users.items() if k == kind}


def _limits(kind: str) -> tuple[int, int]:
    per_user, per_process = LIMITS[kind]
    return getattr(settings, per_user), getattr(settings, per_process)


def running_for(kind: str, user_id: str) -> int:
    """How many of `kind` the user runs now, for the 429's message (shared or local count)."""
    if semaphore.shared():
        try:
            found = semaphore.count(_key(kind, user_id))
        except Exception as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
            with _lock:
                return found + _local_users[kind, user_id]
    with _lock:
        return _local_users[kind, user_id]


def take_place(kind: str, user_id: str) -> Place:
    """A place of `kind` for `user_id`, or PlacesBusy. The caller must `release()` it."""
    per_user, per_process = _limits(kind)
    total = settings.DASHBOARD_PLACES_PER_PROCESS
    with _lock:
        if per_process > 0 and _process[kind] >= per_process:
            busy = PlacesBusy(kind=kind, scope="process", running=0, limit=per_process)
        elif total > 0 and sum(_process.values()) >= total:
            busy = PlacesBusy(kind=kind, scope="process", running=0, limit=total)
        else:
            busy = None
            _process[kind] += 1
    if busy is not None:
        busy.running = running_for(kind, user_id)
        if 0 < per_user <= busy.running:
            # The person's own are what fills the process: they are told their own limit.
            busy.scope, busy.limit = "user", per_user
        raise busy
    try:
        return _user_place(kind, user_id, per_user)
    except BaseException:
        with _lock:
            _process[kind] -= 1
        raise


def _user_place(kind: str, user_id: str, limit: int) -> Place:
    token = uuid.uuid4().hex
    if semaphore.shared():
        key = _key(kind, user_id)
        try:
            got, held = semaphore.take(
                key, token, limit=limit, hold=settings.DASHBOARD_PLACE_HOLD_SECONDS
            )
        except Exception as exc:
            outage.failed(exc)  # counted in this process instead, below
        else:
            outage.succeeded()
            if not got:
                raise PlacesBusy(kind=kind, scope="user", running=held, limit=limit)
            semaphore.renewer.hold(key, token)
            return Place(kind, user_id, token, shared=True)
    with _lock:
        running = _local_users[kind, user_id]
        if limit > 0 and running >= limit:
            raise PlacesBusy(kind=kind, scope="user", running=running, limit=limit)
        _local_users[kind, user_id] = running + 1
    return Place(kind, user_id, token, shared=False)


def reset() -> int:
    """Forget every place of this process (for tests that check none was left): how many were."""
    with _lock:
        left = sum(_process.values())
        _process.clear()
        _local_users.clear()
    semaphore.renewer.clear()
    return left
