"""A pool of numbered calls made by worker threads, for a consumer that reads their results in
order: the pages of a scan (`scan`), the values of a bulk lookup (`lookup`).

The pool owns what every such walk needs and nothing of what it asks:

- calls in flight adapted to the upstream's answers (`AdaptiveLimit`), never more than the
  organisation's call limit less CONTACTSHIP_RESERVED_CALLS (those are for page views), nor
  CONTACTSHIP_SCAN_CALLS_MAX; no new call while a Retry-After is being honoured;
- read-ahead bounded to twice that maximum past the call the consumer waits for, so a slow
  consumer never piles up results;
- `first_alone`: call 0 goes alone until the consumer asks for more (a scan's first page may be
  its only one; a half-open circuit breaker lets one trial through);
- `halt()`: no call is handed out any more, and the results in stay readable (`ready`), for a
  consumer that has seen enough failures to stop asking;
- threads started as calls are handed out (at most the maximum), and cancellation: `stop()`
  drops the calls not yet made, idle workers end at once, busy ones after their call (they are
  handed the stop event, and start nothing more); `stop` waits CLOSE_GRACE for them.

The worker threads hold the pool and the call function only: an owner whose consumer drops it
without closing is not kept alive by them.
"""

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from contacts import metrics
from contacts.upstream.adaptive import AdaptiveLimit
from contacts.upstream.attempt import Observe
from contacts.upstream.config import ClientConfig
from contacts.upstream.limit import slots_to_fill

CLOSE_GRACE = 1.0  # seconds `stop` waits for workers still in a call
THREAD_NAME = "contactship-scan"

# Call N, made by a worker: (N, the limit's `observe`, the stop event) -> its result.
Fetch = Callable[[int, Observe, threading.Event], object]


@dataclass
class PoolProgress:
    calls: int = 0  # calls handed to the workers, speculative ones included
    in_flight: int = 0  # calls in flight allowed now
    in_flight_peak: int = 0
    overloads: int = 0  # answers that asked for less (429, 503, 504, timeouts)


def adaptive_limit(config: ClientConfig) -> AdaptiveLimit:
    """The calls in flight a pool starts with and may grow to."""
    maximum = config.scan_calls_max
    if config.max_concurrent_calls > 0:
        reserve = config.reserved_calls
        maximum = min(maximum, slots_to_fill(config.max_concurrent_calls, reserve))
    return AdaptiveLimit(start=config.scan_calls_start, maximum=maximum)


class CallPool:
    """Calls 0 .. `last` of `fetch`, made as the limit allows; read each with `result(n)`."""

    def __init__(
        self,
        *,
        config: ClientConfig,
        org_id: str,
        fetch: Fetch,
        last: int,
        first_alone: bool = False,
        progress: PoolProgress | None = None,
    ) -> None:
        self.org_id = org_id
        self.fetch = fetch
        self.last = last
        self.first_alone = first_alone
        self.limit = adaptive_limit(config)
        self.progress = progress if progress is not None else PoolProgress()
        self.progress.in_flight = self.progress.in_flight_peak = self.limit.limit
        self._concurrency = metrics.ScanConcurrency(org_id)
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._halted = False
        self._todo: deque[int] = deque()  # calls to make, for the workers
        self._results: dict[int, tuple[object, Exception | None]] = {}
        self._asked = 0  # calls handed to the workers so far: 0 .. _asked - 1
        self._outstanding = 0  # of those, the ones without a result yet
        self._idle = 0  # workers waiting for a call
        self.threads: list[threading.Thread] = []

    # --- the consumer's side ----------------------------------------------------------------

    def result(self, number: int) -> object:
        """Call `number`'s result, asking for calls as the limit allows while it waits; its
        error, if it failed, is raised."""
        with self._changed:
            self._ask_locked(number)
            while number not in self._results:
                pause = self.limit.pause()
                self._changed.wait(timeout=pause or None)
                self._ask_locked(number)
            value, error = self._results.pop(number)
        if error is not None:
            raise error
        return value

    def ready(self, number: int) -> object | None:
        """Call `number`'s result if it is in and succeeded, without waiting; else None."""
        with self._changed:
            value, error = self._results.pop(number, (None, None))
        return None if error is not None else value

    def halt(self) -> None:
        """Hand out no more calls; the calls not yet started are dropped, the results in kept."""
        with self._changed:
            self._halted = True
            self._outstanding -= len(self._todo)
            self._todo.clear()

    def ask(self, needed: int) -> None:
        """Hand calls from `needed` on to the workers, as the limit allows."""
        with self._changed:
            self._ask_locked(needed)

    def _ask_locked(self, needed: int) -> None:
        limit = self.limit.limit
        progress = self.progress
        progress.in_flight = limit
        progress.in_flight_peak = max(progress.in_flight_peak, limit)
        progress.overloads = self.limit.overloads
        if self._stopped.is_set() or self._halted or self.limit.pause() > 0:
            return
        self._concurrency.set(limit)
        if needed == 0 and self.first_alone:
            last = 0
        else:
            last = min(self.last, needed + 2 * self.limit.maximum)
        added = 0
        while self._outstanding < limit and self._asked <= last:
            self._todo.append(self._asked)
            self._asked += 1
            self._outstanding += 1
            added += 1
        if not added:
            return
        progress.calls += added
        missing = min(len(self._todo) - self._idle, self.limit.maximum - len(self.threads))
        for _ in range(max(0, missing)):
            # In a copy of the consumer's context: the calls carry its request id.
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run,
                args=(self._work,),
                name=f"{THREAD_NAME}-{self.org_id}",
                daemon=True,
            )
            self.threads.append(thread)
            thread.start()
        self._changed.notify_all()

    def stop(self) -> bool:
        """Make no more calls and let the workers end; True the first time only."""
        if self._stopped.is_set():
            return False
        self._stopped.set()
        with self._changed:
            self._concurrency.end()
            self._todo.clear()
            self._results.clear()
            self._changed.notify_all()
        deadline = time.monotonic() + CLOSE_GRACE
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return True

    @property
    def threads_alive(self) -> int:
        return sum(thread.is_alive() for thread in self.threads)

    # --- the workers' side --------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._todo and not self._stopped.is_set():
                    self._idle += 1
                    self._changed.wait()
                    self._idle -= 1
                if self._stopped.is_set():
                    return
                number = self._todo.popleft()
            result: tuple[object, Exception | None]
            try:
                result = (self.fetch(number, self.limit.observe, self._stopped), None)
            except Exception as exc:
                result = (None, exc)
            with self._changed:
                self._results[number] = result
                self._outstanding -= 1
                self._changed.notify_all()
