"""One scan for everyone who asks: the requests for one organisation's summary of one search, on
any replica, share a single `SummaryRun` through the shared cache (single flight).

The first request takes a lease (`cache.add`, LEASE_SECONDS, renewed after each page while it
counts) and leads: it counts, publishing its progress under the flight's key, then the finished
summary (counts only) there too, and gives the lease back. The others follow: they show the
published progress and end with the leader's summary, making no call to Contactship. If the
leader stops (its client left, the upstream failed, its replica died and its lease expired), the
next follower to find the lease free takes it and counts itself. The finished summary is also
kept as before (`summary_cached`) for CONTACTSHIP_CACHE_TTL.

Without a shared cache (Redis down) every request counts alone, as before. With the local-memory
cache (one process) the threads of that process share their scans.
"""

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict

from django.core.cache import cache

from contacts.cache import outage
from contacts.contact.query import ContactQuery
from contacts.insights.summary import Summary, SummaryRun, summary_cache_key
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import ScanProgress

log = logging.getLogger(__name__)

# A leader that stops renewing is replaced after this long: above one page's call deadline
# (CONTACTSHIP_DEADLINE, 20 s), so that a slow page does not start a second scan.
LEASE_SECONDS = 30
FLIGHT_SECONDS = 120  # how long the flight's progress and summary stay readable
PUBLISH_EVERY = 0.5  # seconds between two writes of the leader's progress
POLL_EVERY = 0.25  # seconds between two reads of a follower
RUNNING, DONE = "running", "done"
PUBLISHED = ("pages", "rows", "scanned")


class SharedSummaryRun:
    """`SummaryRun`'s interface (`start`, `steps`, `result`, `close`, `progress`), leading the
    flight or following it (see the module docstring)."""

    def __init__(self, *, organisation: Organisation, query: ContactQuery) -> None:
        self.organisation = organisation
        self.query = query
        key = summary_cache_key(organisation.id, query)
        self._lease_key = f"{key}:lease"
        self._flight_key = f"{key}:flight"
        self._token = secrets.token_hex(16)
        self._run: SummaryRun | None = None  # while leading
        self._summary: Summary | None = None  # the leader's, once followed to the end
        self._followed = ScanProgress()
        self._published = 0.0
        self._counted = False  # the leader's scan went to its end
        # A flight that had already finished when this request came is not followed: a
        # request that got here wants a count (it found nothing cached, or asked to refresh).
        state = self._state()
        self._stale = state.get("flight") if state.get("state") == DONE else None

    @property
    def leading(self) -> bool:
        return self._run is not None

    @property
    def progress(self) -> ScanProgress:
        return self._run.progress if self._run is not None else self._followed

    # --- leading ----------------------------------------------------------------------------

    def _try_lead(self) -> bool:
        """Take the lease if it is free (or count alone when the cache cannot be shared)."""
        if outage.down:
            return self._lead()
        try:
            taken = cache.add(self._lease_key, self._token, timeout=LEASE_SECONDS)
        except Exception:
            log.warning("cache unavailable, counting alone", exc_info=True)
            return self._lead()
        if not taken:
            return False
        if self._finished() is not None:
            # The leader before finished between our last read and the lease: nothing to count.
            self._release()
            return False
        return self._lead()

    def _lead(self) -> bool:
        self._run = SummaryRun(organisation=self.organisation, query=self.query)
        self._publish(force=True)
        return True

    def _publish(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._published < PUBLISH_EVERY:
            return
        self._published = now
        progress = asdict(self.progress)
        state = {
            "state": RUNNING,
            "flight": self._token,
            **{name: progress[name] for name in PUBLISHED},
        }
        try:
            cache.set(self._flight_key, state, timeout=FLIGHT_SECONDS)
            if cache.get(self._lease_key) == self._token:
                cache.touch(self._lease_key, timeout=LEASE_SECONDS)
        except Exception:
            log.warning("cache unavailable, progress not shared", exc_info=True)

    def _release(self) -> None:
        try:
            if cache.get(self._lease_key) == self._token:
                cache.delete(self._lease_key)
        except Exception:
            log.warning("cache unavailable, lease left to expire", exc_info=True)

    def _led_steps(self) -> Iterator[ScanProgress]:
        assert self._run is not None
        try:
            for progress in self._run.steps():
                self._publish()
                yield progress
            self._counted = True
        except BaseException:
            self._release()  # a follower takes over
            raise

    # --- following --------------------------------------------------------------------------

    def _state(self) -> dict:
        try:
            state = cache.get(self._flight_key)
        except Exception:
            return {}
        return state if isinstance(state, dict) else {}

    def _finished(self) -> Summary | None:
        """The flight's summary if its leader has finished; else its progress is noted."""
        state = self._state()
        if not state or state.get("flight") == self._stale:
            return None
        if state.get("state") == DONE:
            summary = state.get("summary")
            if isinstance(summary, dict) and summary.get("organisation") == self.organisation.id:
                return summary
            return None
        self._followed = ScanProgress(**{name: int(state.get(name, 0)) for name in PUBLISHED})
        return None

    def _followed_steps(self) -> Iterator[ScanProgress]:
        while True:
            summary = self._finished()
            if summary is not None:
                self._summary = summary
                log.info("summary shared org=%s count=%d", self.organisation.id, summary["count"])
                return
            if self._try_lead():
                log.info("summary taken over org=%s", self.organisation.id)
                yield from self._led_steps()
                return
            yield self._followed
            time.sleep(POLL_EVERY)

    # --- SummaryRun's interface -------------------------------------------------------------

    def start(self) -> None:
        """Lead if nobody does (asking for the first page now: an upstream failure raises
        here), else follow."""
        if self._try_lead():
            assert self._run is not None
            try:
                self._run.start()
            except BaseException:
                self._release()
                raise

    def steps(self) -> Iterator[ScanProgress]:
        if self._run is not None:
            yield from self._led_steps()
        else:
            yield from self._followed_steps()

    def result(self) -> Summary:
        if self._run is None:
            assert self._summary is not None, "result() before the steps ended"
            return self._summary
        summary = self._run.result()
        try:
            done = {"state": DONE, "flight": self._token, "summary": summary}
            cache.set(self._flight_key, done, timeout=FLIGHT_SECONDS)
        except Exception:
            log.warning("cache unavailable, summary not shared", exc_info=True)
        self._release()
        return summary

    def close(self) -> None:
        """Stop; a leader that had not counted to the end gives the lease to a follower (one
        that had keeps it until `result()` has shared the summary)."""
        if self._run is not None:
            self._run.close()
            if not self._counted:
                self._release()
