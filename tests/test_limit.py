"""The per-organisation limit on calls in flight, in this process or across replicas (Redis)."""

import threading
import time

import pytest
from django.urls import reverse

from contacts.upstream.limit import NoSlot, call_slot

pytestmark = pytest.mark.django_db


def test_a_slot_is_given_back_and_the_limit_holds():
    deadline = time.monotonic() + 0.3
    with call_slot("org-a", limit=2, deadline=deadline, hold=5):
        with call_slot("org-a", limit=2, deadline=deadline, hold=5):
            started = time.monotonic()
            with pytest.raises(NoSlot), call_slot("org-a", limit=2, deadline=deadline, hold=5):
                pass
            assert time.monotonic() - started >= 0.2  # it waited for a slot until the deadline
        # Another organisation has its own slots.
        with call_slot("org-b", limit=2, deadline=time.monotonic() + 0.1, hold=5):
            pass
    with call_slot("org-a", limit=2, deadline=time.monotonic() + 0.1, hold=5):
        pass  # all given back


def test_a_waiting_call_gets_the_slot_when_it_frees():
    released = threading.Event()

    def holder():
        with call_slot("org-w", limit=1, deadline=time.monotonic() + 1, hold=5):
            time.sleep(0.2)
        released.set()

    thread = threading.Thread(target=holder)
    thread.start()
    time.sleep(0.05)
    with call_slot("org-w", limit=1, deadline=time.monotonic() + 2, hold=5):
        assert released.wait(1)
    thread.join()


def test_no_limit_when_zero():
    deadline = time.monotonic() + 0.1
    with (
        call_slot("org-z", limit=0, deadline=deadline, hold=5),
        call_slot("org-z", limit=0, deadline=deadline, hold=5),
    ):
        pass


def test_a_search_says_busy_when_no_slot_frees_in_time(member_client, upstream, settings):
    settings.CONTACTSHIP_MAX_CONCURRENT_CALLS = 1
    settings.CONTACTSHIP_DEADLINE = 0.2
    url = reverse("contact_list", args=["org-harbor"])
    # Another request (here: this test) holds the organisation's only slot.
    with call_slot("org-harbor", limit=1, deadline=time.monotonic() + 1, hold=5):
        busy = member_client.get(url)
    assert busy.status_code == 503
    assert b"Many searches and exports are running" in busy.content
    assert member_client.get(url).status_code == 200  # the slot is free again
