"""The last minutes of calls to Contactship, per organisation, for the status page, read from the
metrics (`contacts.metrics`) rather than counted twice.

Every process that serves pages keeps a snapshot of `contactship_requests_total` once a minute
(`start`, from `dashboard/wsgi.py`); the status page subtracts the oldest snapshot of the window
from the totals now. Under gunicorn the totals are the replica's, summed over its workers, so
whichever worker answers shows every worker's calls; the last failure is the last minute in which
failures grew, with how they ended.
"""

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from contacts import metrics

log = logging.getLogger(__name__)

WINDOW_MINUTES = 15
EVERY_SECONDS = 60.0
# Outcomes that are answers, not failures: a contact that does not exist is a lookup's everyday
# result.
NOT_FAILURES = frozenset({"ok", "not_found"})

Totals = dict[str, Counter]  # organisation id -> outcome -> calls so far


@dataclass(frozen=True)
class Window:
    calls: int
    failed: int
    since: float  # a time.time(): the window's start (later while the process is young)
    last_failure_at: float | None  # the end of the minute in which failures last grew
    last_failure: str  # how they ended there, e.g. "server_error"


def totals() -> Totals:
    """Calls made so far, per organisation and outcome, as a scrape reads them."""
    found: Totals = {}
    for family in metrics.registry().collect():
        if family.name != "contactship_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                org, outcome = sample.labels["organisation"], sample.labels["outcome"]
                found.setdefault(org, Counter())[outcome] += int(sample.value)
    return found


class Snapshots:
    def __init__(self) -> None:
        self._ring: deque[tuple[float, Totals]] = deque(maxlen=WINDOW_MINUTES + 1)
        self._lock = threading.Lock()
        self._started = False

    def take(self) -> None:
        snapshot = (time.time(), totals())
        with self._lock:
            self._ring.append(snapshot)

    def start(self) -> None:
        """Take a snapshot now and one a minute in a daemon thread (once per process)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.take()
        threading.Thread(target=self._run, name="recent-calls", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(EVERY_SECONDS)
            try:
                self.take()
            except Exception:  # a bad minute is a gap in the window, never a dead thread
                log.warning("the status page's minute was not recorded", exc_info=True)

    def window(self, org_id: str) -> Window:
        now = (time.time(), totals())
        with self._lock:
            ring = [*self._ring, now]
        oldest = next((s for s in ring if s[0] >= now[0] - WINDOW_MINUTES * 60 - 5), ring[0])
        counted = now[1].get(org_id, Counter()) - oldest[1].get(org_id, Counter())
        failed = sum(n for outcome, n in counted.items() if outcome not in NOT_FAILURES)
        at, how = _last_failure(ring, org_id)
        return Window(sum(counted.values()), failed, oldest[0], at, how)


def _failures(totals: Totals, org_id: str) -> Counter:
    counts = totals.get(org_id, Counter())
    return Counter({o: n for o, n in counts.items() if o not in NOT_FAILURES})


def _last_failure(ring: list[tuple[float, Totals]], org_id: str) -> tuple[float | None, str]:
    """The end of the latest interval between snapshots in which failures grew, and how."""
    for (_, before), (at, after) in zip(reversed(ring[:-1]), reversed(ring[1:]), strict=True):
        grew = _failures(after, org_id) - _failures(before, org_id)
        if grew:
            return at, ", ".join(sorted(grew))
    return None, ""


snapshots = Snapshots()
