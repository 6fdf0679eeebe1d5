"""A circuit breaker per organisation, kept in Django's cache.

After `threshold` consecutive failed calls, calls for that organisation fail fast for `cooldown`
seconds, so a dead upstream cannot pin every worker thread; then one trial call decides whether the
circuit closes again. State lives in the cache so that, with Redis, every replica shares it. If
the cache itself fails, the breaker lets calls through: it protects, it never blocks on its own.
"""

import logging
import time

from django.core.cache import cache

from contacts import metrics

log = logging.getLogger(__name__)

PREFIX = "contactship:breaker:v1"

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(self, *, threshold: int, cooldown: float, trial_timeout: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.trial_timeout = trial_timeout

    @staticmethod
    def _keys(org_id: str) -> tuple[str, str, str]:
        base = f"{PREFIX}:{org_id}"
        return f"{base}:failures", f"{base}:opened", f"{base}:trial"

    def allow(self, org_id: str) -> bool:
        """May a call for this organisation go out now? In the half-open state this claims the
        one trial call: only a caller about to make the call may ask (see `state`)."""
        if self.threshold <= 0:
            return True
        _, opened_key, trial_key = self._keys(org_id)
        try:
            opened = cache.get(opened_key)
            metrics.breaker_seen(org_id, opened is not None)
            if opened is None:
                return True
            if time.time() - opened < self.cooldown:
                return False
            # Half-open: the first caller to claim the trial goes; the others still fail fast.
            return cache.add(trial_key, 1, timeout=self.trial_timeout)
        except Exception:
            log.warning("breaker state unreadable, letting the call through", exc_info=True)
            return True

    def state(self, org_id: str) -> str:
        """CLOSED, OPEN or HALF_OPEN (the trial is free), without claiming anything: for a caller
        that will make its calls later, or not at all."""
        if self.threshold <= 0:
            return CLOSED
        _, opened_key, trial_key = self._keys(org_id)
        try:
            opened = cache.get(opened_key)
            if opened is None:
                return CLOSED
            if time.time() - opened < self.cooldown or cache.get(trial_key) is not None:
                return OPEN
            return HALF_OPEN
        except Exception:
            log.warning("breaker state unreadable, letting the call through", exc_info=True)
            return CLOSED

    def is_open(self, org_id: str) -> bool:
        """Whether the circuit is open or half-open. A failed call is not tried again then: a
        trial is one call, and while open the others fail fast."""
        if self.threshold <= 0:
            return False
        try:
            return cache.get(self._keys(org_id)[1]) is not None
        except Exception:
            log.warning("breaker state unreadable, letting the call through", exc_info=True)
            return False

    def record_success(self, org_id: str) -> None:
        keys = self._keys(org_id)
        try:
            if cache.get_many(keys):
                cache.delete_many(keys)
                metrics.breaker_seen(org_id, False)
                log.info("breaker reset org=%s", org_id)
        except Exception:
            log.warning("breaker state not written", exc_info=True)

    def record_failure(self, org_id: str) -> None:
        if self.threshold <= 0:
            return
        failures_key, opened_key, trial_key = self._keys(org_id)
        # Long enough to outlive a cool-down, short enough that old failures do not linger.
        ttl = max(self.cooldown * 10, 600)
        try:
            failures = self._count_failure(failures_key, ttl)
            was_open = cache.get(opened_key) is not None
            if failures >= self.threshold or was_open:
                cache.set(opened_key, time.time(), timeout=ttl)
                cache.delete(trial_key)
                metrics.breaker_seen(org_id, True)
                log.warning(
                    "breaker open org=%s failures=%d cooldown_s=%s", org_id, failures, self.cooldown
                )
        except Exception:
            log.warning("breaker state not written", exc_info=True)

    @staticmethod
    def _count_failure(key: str, ttl: float) -> int:
        """The count after adding one failure. A success on another thread or replica may delete
        the count at any moment (an `add` then `incr` lost the failure to it, with a traceback):
        `incr` fails only when the count is gone, and then the failure starts a new one."""
        for _ in range(3):
            try:
                return cache.incr(key)
            except ValueError:
                if cache.add(key, 1, timeout=ttl):
                    return 1
        return 1  # created and deleted again under us three times: this failure is the first
