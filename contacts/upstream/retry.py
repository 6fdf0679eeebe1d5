"""Which failed attempts of a call are tried again, how often and after how long.

Only GETs are made, so trying again is always safe; what is worth it depends on who waits. A
page view tries again only answers that say the upstream was briefly unable; a scan or a bulk
lookup, making hundreds of calls, also rides out a 500 and tries more often.
"""

import random
import threading
import time
from dataclasses import dataclass

from contacts.upstream.attempt import Failure
from contacts.upstream.config import ClientConfig

# Answers a page view asks again: the upstream was briefly unable to answer. A 500 is not among
# them: it says the upstream failed this very request, and a person is waiting for the page.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Scans and bulk lookups make hundreds of calls: one 500 among them is noise to ride out, or a
# result of 600 pages fails whenever a twentieth of the answers are errors.
SCAN_RETRY_STATUSES = RETRY_STATUSES | {500}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Which failed attempts are tried again, how often and after how long. Every retry stays
    within the call's deadline."""

    statuses: frozenset[int]  # answers tried again, besides transient failures
    retries: int  # attempts after the first
    backoff: float  # the n-th retry waits up to backoff * 2**(n-1), at random
    retry_after_cap: float  # a longer Retry-After ends the call at once

    @classmethod
    def for_pages(cls, config: ClientConfig) -> "RetryPolicy":
        """A page view's: a person waits, so only answers that say "briefly unable"."""
        return cls(RETRY_STATUSES, config.retries, config.backoff, config.retry_after_cap)

    @classmethod
    def for_scans(cls, config: ClientConfig) -> "RetryPolicy":
        """A scan's page or a bulk lookup's value: 500s too, and more attempts."""
        retries = max(config.retries, config.scan_retries)
        return cls(SCAN_RETRY_STATUSES, retries, config.backoff, config.retry_after_cap)

    def wait(self, attempt: int, failure: Failure, deadline: float) -> float | None:
        """Seconds to wait before trying again after failed attempt number `attempt` (from 1),
        or None to give up."""
        worth = failure.status in self.statuses if failure.status else failure.transient
        if not worth or attempt > self.retries:
            return None
        # Exponential with full jitter, so callers failing together do not retry together.
        wait = random.uniform(0, self.backoff * 2 ** (attempt - 1))  # noqa: S311
        retry_after = failure.error.retry_after
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                return None
            wait = max(wait, retry_after)
        if time.monotonic() + wait >= deadline:
            return None
        return wait


def pause(seconds: float, stop: threading.Event | None) -> None:
    """Wait `seconds` before the next attempt; a closed scan (`stop` set) does not wait out its
    backoff."""
    if stop is not None:
        stop.wait(seconds)
    else:
        time.sleep(seconds)
