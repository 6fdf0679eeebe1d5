"""An export's threads share one core while it runs, and the thread gets its cores back."""

import os
import threading

import pytest

from contacts.affinity import core_for, one_core
from contacts.upstream.client import contactship_client
from contacts.upstream.organisations import organisation_get
from contacts.upstream.types import ContactQuery

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="CPU affinity is a Linux feature"
)


@pytest.fixture(autouse=True)
def _cores_reset():
    # A failing test must not leave the test thread pinned for the next one.
    before = os.sched_getaffinity(0)
    yield
    os.sched_setaffinity(0, before)


def test_one_core_pins_the_thread_and_the_threads_it_starts_then_restores():
    before = os.sched_getaffinity(0)
    seen_by_child: list[set[int]] = []
    with one_core():
        inside = os.sched_getaffinity(0)
        child = threading.Thread(target=lambda: seen_by_child.append(os.sched_getaffinity(0)))
        child.start()
        child.join()
    assert inside == ({core_for(os.getpid(), before)} if len(before) > 1 else before)
    assert seen_by_child == [inside]
    assert os.sched_getaffinity(0) == before


def test_the_cores_come_back_when_the_block_fails():
    before = os.sched_getaffinity(0)
    with pytest.raises(ZeroDivisionError), one_core():
        1 / 0  # noqa: B018
    assert os.sched_getaffinity(0) == before


def test_a_thread_closed_from_elsewhere_gets_its_own_cores_back():
    # A generator holding the pin may be closed by another thread (or the garbage collector):
    # the cores restored are those of the thread that was pinned, not of the closing thread.
    before = os.sched_getaffinity(0)

    def pinned():
        with one_core():
            yield os.sched_getaffinity(0)

    generator = pinned()
    inside = next(generator)
    closer = threading.Thread(target=generator.close)
    closer.start()
    closer.join()
    assert len(inside) == (1 if len(before) > 1 else len(before))
    assert os.sched_getaffinity(0) == before


def test_an_export_runs_on_one_core_and_gives_the_cores_back(upstream):
    before = os.sched_getaffinity(0)
    during = []
    pages = contactship_client().contact_pages(
        organisation=organisation_get("org-tejo"), query=ContactQuery()
    )
    for _page in pages:
        during.append(os.sched_getaffinity(0))
    assert len(during) == 24
    assert all(cores == during[0] and cores <= before for cores in during)
    assert len(during[0]) == (1 if len(before) > 1 else len(before))
    assert os.sched_getaffinity(0) == before


def test_workers_forked_one_after_another_export_on_different_cores():
    cores = {0, 1, 2, 3}
    assert [core_for(pid, cores) for pid in range(1000, 1004)] == [0, 1, 2, 3]
    assert core_for(1004, cores) == 0
    assert [core_for(pid, {2, 5}) for pid in (7, 8)] == [5, 2]


def test_an_error_inside_the_block_is_not_swallowed_on_a_single_core(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    with pytest.raises(OSError, match="disk"), one_core():
        raise OSError("disk")
