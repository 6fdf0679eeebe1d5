"""The last minutes of calls to Contactship, per organisation, for the status page: how many
calls and how many failed, minute by minute, and the last failure.

Counted in memory and added to the cache at most every FLUSH_SECONDS, so a call costs no cache
round trip: with Redis the window holds every replica's calls, without it the calls of the
process that answers (each keeps its own cache). Counters expire with the window.
"""

import logging
import threading
import time
from collections import Counter

from django.core.cache import cache

log = logging.getLogger(__name__)

PREFIX = "dashboard:recent:v1"
WINDOW_MINUTES = 15
FLUSH_SECONDS = 5.0


class RecentCalls:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._last_errors: dict[str, tuple[float, str]] = {}
        self._flushed = 0.0

    def record(self, org_id: str, outcome: str, *, failed: bool) -> None:
        """One call made for `org_id`; `outcome` names how it ended (for a failure)."""
        now = time.time()
        minute = int(now // 60)
        with self._lock:
            self._pending[_key(org_id, minute, "calls")] += 1
            if failed:
                self._pending[_key(org_id, minute, "errors")] += 1
                self._last_errors[org_id] = (now, outcome)
            due = now - self._flushed >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Add what this process counted to the cache's counters."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            last_errors, self._last_errors = self._last_errors, {}
            self._flushed = time.time()
        timeout = (WINDOW_MINUTES + 2) * 60
        try:
            for key, count in pending.items():
                cache.add(key, 0, timeout=timeout)
                cache.incr(key, count)
            for org_id, (when, outcome) in last_errors.items():
                known = cache.get(_last_error_key(org_id))
                if known is None or known[0] < when:
                    cache.set(_last_error_key(org_id), (when, outcome), timeout=None)
        except Exception:
            # The status page shows less; calls are never held up for it.
            log.warning("recent calls not counted: the cache failed", exc_info=True)

    def window(self, org_id: str) -> tuple[int, int]:
        """Calls and failed calls for `org_id` in the last WINDOW_MINUTES minutes."""
        self.flush()
        now_minute = int(time.time() // 60)
        minutes = range(now_minute - WINDOW_MINUTES + 1, now_minute + 1)
        keys = [_key(org_id, m, kind) for m in minutes for kind in ("calls", "errors")]
        try:
            found = cache.get_many(keys)
        except Exception:
            return 0, 0
        calls = sum(v for k, v in found.items() if k.endswith(":calls"))
        errors = sum(v for k, v in found.items() if k.endswith(":errors"))
        return calls, errors

    def last_error(self, org_id: str) -> tuple[float, str] | None:
        """When the last failed call for `org_id` ended (a `time.time()`), and how."""
        self.flush()
        try:
            return cache.get(_last_error_key(org_id))
        except Exception:
            return None


def _key(org_id: str, minute: int, kind: str) -> str:
    return f"{PREFIX}:{org_id}:{minute}:{kind}"


def _last_error_key(org_id: str) -> str:
    return f"{PREFIX}:{org_id}:last-error"


recent_calls = RecentCalls()
