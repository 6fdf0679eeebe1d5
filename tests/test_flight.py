"""Single flight in one process (the local-memory cache): who leads, who follows, who takes
over, against the demo API. Through two processes and Redis: tests/test_live_flight.py."""

import pytest
import requests
from django.core.cache import cache

from contacts.contact.query import ContactQuery
from contacts.demo.data import contacts_for
from contacts.insights import flight
from contacts.insights.flight import SharedSummaryRun
from contacts.upstream.organisations import organisation_get

pytestmark = pytest.mark.django_db

ORG = "org-tejo"


def calls(demo_api) -> int:
    return requests.get(demo_api.base_url.removesuffix("/v1") + "/_demo/stats", timeout=5).json()[
        "requests"
    ]


def shared(**filters) -> SharedSummaryRun:
    return SharedSummaryRun(organisation=organisation_get(ORG), query=ContactQuery(**filters))


def to_the_end(run: SharedSummaryRun) -> dict:
    try:
        for _ in run.steps():
            pass
        return run.result()
    finally:
        run.close()


def test_a_follower_shows_the_leaders_progress_and_ends_with_its_summary(upstream, monkeypatch):
    monkeypatch.setattr(flight, "PUBLISH_EVERY", 0)
    leader, follower = shared(), shared()
    leader.start()
    follower.start()
    assert leader.leading and not follower.leading
    following = follower.steps()
    steps = leader.steps()
    next(steps)
    next(steps)
    assert next(following).rows == leader.progress.rows > 0
    for _ in steps:
        pass
    summary = leader.result()
    leader.close()
    before = calls(upstream)
    assert list(following) == []  # it ends: the summary is in
    assert follower.result() == summary
    assert summary["count"] == len(contacts_for(ORG))
    assert calls(upstream) == before
    # Counts only: the flight's entry holds no contact.
    entry = cache.get(follower._flight_key)
    assert entry["summary"] == summary


def test_a_follower_takes_over_a_leader_that_stopped(upstream):
    leader, follower = shared(), shared()
    leader.start()
    steps = leader.steps()
    next(steps)
    follower.start()
    assert not follower.leading
    steps.close()  # its client left: the lease goes back
    leader.close()
    summary = to_the_end(follower)
    assert follower.leading
    assert summary["count"] == len(contacts_for(ORG))


def test_a_follower_takes_over_a_leader_that_died(upstream, monkeypatch):
    monkeypatch.setattr(flight, "LEASE_SECONDS", 1)
    monkeypatch.setattr(flight, "POLL_EVERY", 0.05)
    dead = shared()
    dead.start()  # then its replica dies: no close, no renewal
    follower = shared()
    follower.start()
    assert not follower.leading
    summary = to_the_end(follower)
    assert follower.leading
    assert summary["count"] == len(contacts_for(ORG))
    dead._run.close()


def test_a_finished_flight_is_not_followed_by_a_new_count(upstream):
    first = to_the_end(shared(full_name="a"))
    again = shared(full_name="a")
    again.start()
    assert again.leading  # a refresh counts anew
    assert to_the_end(again)["count"] == first["count"]
