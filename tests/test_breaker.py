"""The circuit breaker's own state under concurrency: a success and a failure that cross."""

import logging
import threading

import pytest
from django.core.cache import cache

from contacts.upstream import breaker as breaker_module
from contacts.upstream.breaker import CircuitBreaker

ORG = "org-race"


class SuccessBeforeIncr:
    """The shared cache, except that the first `incr` lets another thread (another replica, in
    production) record a success just before it: the moment a success and a failure cross."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        self.crossed = False

    def incr(self, *args, **kwargs):
        if not self.crossed:
            self.crossed = True
            other = threading.Thread(target=self.breaker.record_success, args=(ORG,))
            other.start()
            other.join()
        return cache.incr(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(cache, name)


@pytest.fixture
def crossing(monkeypatch):
    breaker = CircuitBreaker(threshold=2, cooldown=30, trial_timeout=5)
    breaker.record_failure(ORG)  # one failure counted already
    proxy = SuccessBeforeIncr(breaker)
    monkeypatch.setattr(breaker_module, "cache", proxy)
    return breaker, proxy


def test_a_failure_crossing_a_success_is_counted_without_a_traceback(crossing, caplog):
    breaker, proxy = crossing
    with caplog.at_level(logging.WARNING, logger="contacts.upstream.breaker"):
        breaker.record_failure(ORG)
    assert proxy.crossed
    assert [r for r in caplog.records if r.exc_info] == []
    # The success reset the count; the failure after it is the first of a new run, not lost:
    assert cache.get(f"{breaker_module.PREFIX}:{ORG}:failures") == 1
    breaker.record_failure(ORG)  # the second in a row opens the circuit
    assert not breaker.allow(ORG)


def test_failures_from_many_threads_are_all_counted(settings):
    breaker = CircuitBreaker(threshold=1000, cooldown=30, trial_timeout=5)
    threads = [
        threading.Thread(target=lambda: [breaker.record_failure(ORG) for _ in range(25)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(f"{breaker_module.PREFIX}:{ORG}:failures") == 200
