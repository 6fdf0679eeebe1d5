"""How many calls one scan keeps in flight, adapted to the upstream's answers.

The way TCP's congestion window and Netflix's concurrency-limits do it (AIMD, with a latency
gradient for an upstream that only slows down):

- start small (`start`); while answers stay fast and clean, grow by one per answer until the
  first sign of trouble (slow start: the window doubles each round trip), then by one per round
  trip (one per `limit` answers);
- on overload (a 429, 503 or 504, a timeout) halve, at most once per round trip, and start no new
  call before a Retry-After has passed;
- on rising latency (an answer slower than `tolerance` times the recent best, plus `slack`: a
  queue is forming upstream) shrink by a tenth, at most once per round trip;
- after an overload at some size, stay below it for `probe_every` answers before trying it
  again: the upstream has said where its limit is, so it is probed rarely;
- never below 1, never above `maximum` (the organisation's call limit less the calls reserved
  for page views, and the scan's own cap).

Thread-safe: the call pool's workers report answers, the pool reads the limit.
"""

import threading
import time
from collections.abc import Callable
from enum import Enum


class Answer(Enum):
    OK = "ok"  # a 2xx
    OVERLOAD = "overload"  # 429, 503, 504 or a timeout: the upstream asks for less
    ERROR = "error"  # anything else: says nothing about load


class AdaptiveLimit:
    def __init__(
        self,
        *,
        start: int,
        maximum: int,
        tolerance: float = 2.0,
        slack: float = 0.010,
        probe_every: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = max(1, maximum)
        self._limit = float(min(max(1, start), self.maximum))
        self.tolerance = tolerance
        self.slack = slack
        self.probe_every = probe_every
        self._clock = clock
        self._lock = threading.Lock()
        self._slow_start = True
        self._best: float | None = None  # the recent best latency, seconds
        self._answers = 0
        self._calm_from = 0  # answer count before which no further decrease applies
        self._overloaded_at: int | None = None  # the limit at the last overload
        self._overload_answer = 0  # the answer count at the last overload
        self._resume_at = 0.0  # clock value before which no new call starts (Retry-After)
        self.peak = int(self._limit)
        self.overloads = 0

    @property
    def limit(self) -> int:
        """Calls in flight allowed now."""
        return int(self._limit)

    def pause(self) -> float:
        """Seconds until new calls may start (a Retry-After being honoured), 0 if they may now."""
        return max(0.0, self._resume_at - self._clock())

    def observe(self, answer: Answer, seconds: float, retry_after: float | None = None) -> None:
        """One attempt's outcome and how long it took."""
        with self._lock:
            self._answers += 1
            if answer is Answer.OVERLOAD:
                self._overload(retry_after)
            elif answer is Answer.OK:
                self._ok(seconds)

    def _overload(self, retry_after: float | None) -> None:
        self.overloads += 1
        if retry_after:
            self._resume_at = max(self._resume_at, self._clock() + retry_after)
        self._slow_start = False
        if self._answers < self._calm_from:
            return  # this round trip was answered for already
        self._overloaded_at = int(self._limit)
        self._overload_answer = self._answers
        self._limit = max(1.0, self._limit / 2)
        self._calm_from = self._answers + int(self._limit) + 1

    def _ok(self, seconds: float) -> None:
        best = self._best
        if best is None or seconds < best:
            self._best = best = seconds
        else:
            # The best drifts towards what is seen, so a latency that stays higher for good
            # (another load on the upstream) becomes the new normal instead of shrinking forever.
            self._best = best + (seconds - best) * 0.02
        if seconds > best * self.tolerance + self.slack:
            self._slow_start = False
            if self._answers >= self._calm_from:
                self._limit = max(1.0, self._limit * 0.9)
                self._calm_from = self._answers + int(self._limit) + 1
            return
        grown = self._limit + (1.0 if self._slow_start else 1.0 / self._limit)
        if self._overloaded_at is not None:
            if self._answers - self._overload_answer >= self.probe_every:
                self._overloaded_at = None  # time to probe the limit again
            else:
                grown = min(grown, max(self._limit, self._overloaded_at - 1 + 0.999))
        self._limit = min(grown, float(self.maximum))
        self.peak = max(self.peak, int(self._limit))
