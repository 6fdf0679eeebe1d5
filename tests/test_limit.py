"""The per-organisation limit on calls in flight, in this process or across replicas (Redis).

The tests of what a slot does run on both paths (`slots`): this process's slots, and Redis's,
where the holders are counted in Redis so that a fallback to this process cannot pass for it.
Each checks that the limit is kept, not only that slots are given back: a `call_slot` that does
not limit fails them. The replica tests start their own `redis-server` (Debian's; `.ci/run`
installs it) on a free loopback port, and run the limit in two separate processes that share it.
"""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
import redis
from django.urls import reverse

from contacts.cache import outage
from contacts.upstream.limit import KEY, NoSlot, call_slot
from tests.live import free_port
from tests.support import redis_server

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


class Slots:
    """The path `call_slot` takes: this process's slots, or Redis's (whose holders it counts, so
    that a test cannot pass by falling back to this process)."""

    def __init__(self, redis_client: redis.Redis | None) -> None:
        self.redis = redis_client

    def assert_held(self, org_id: str, count: int) -> None:
        if self.redis is not None:
            assert self.redis.zcard(KEY.format(org_id=org_id)) == count


@pytest.fixture(params=["process", "redis"])
def slots(request, settings):
    if request.param == "process":
        settings.REDIS_URL = ""
        yield Slots(None)
        return
    url = request.getfixturevalue("redis_url")
    settings.REDIS_URL = url
    client = redis.Redis.from_url(url)
    client.flushdb()
    outage.reset()
    yield Slots(client)
    assert not outage.down  # every call above went to Redis
    outage.reset()


def test_a_slot_is_given_back_and_the_limit_holds(slots):
    deadline = time.monotonic() + 0.3
    with call_slot("org-a", limit=2, deadline=deadline, hold=5):
        with call_slot("org-a", limit=2, deadline=deadline, hold=5):
            slots.assert_held("org-a", 2)
            started = time.monotonic()
            with pytest.raises(NoSlot), call_slot("org-a", limit=2, deadline=deadline, hold=5):
                pass
            assert time.monotonic() - started >= 0.2  # it waited for a slot until the deadline
        # Another organisation has its own slots.
        with call_slot("org-b", limit=2, deadline=time.monotonic() + 0.1, hold=5):
            pass
    slots.assert_held("org-a", 0)
    with call_slot("org-a", limit=2, deadline=time.monotonic() + 0.1, hold=5):
        pass  # all given back


def test_a_waiting_call_gets_the_slot_when_it_frees(slots):
    holding = threading.Event()
    letting_go: list[float] = []

    def holder():
        with call_slot("org-w", limit=1, deadline=time.monotonic() + 1, hold=5):
            holding.set()
            time.sleep(0.2)
            letting_go.append(time.monotonic())

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(1)
    asked = time.monotonic()
    with call_slot("org-w", limit=1, deadline=time.monotonic() + 2, hold=5):
        got = time.monotonic()
    thread.join()
    # It waited for the holder to let go, and got the slot then, well before its deadline.
    assert letting_go and letting_go[0] <= got < asked + 1.5
    assert got - asked >= 0.15


def test_no_limit_when_zero(slots):
    deadline = time.monotonic() + 0.1
    with call_slot("org-z", limit=1, deadline=deadline, hold=5):
        with pytest.raises(NoSlot), call_slot("org-z", limit=1, deadline=deadline, hold=5):
            pass
        # A call without a limit goes through even while the limited ones wait.
        with (
            call_slot("org-z", limit=0, deadline=deadline, hold=5),
            call_slot("org-z", limit=0, deadline=deadline, hold=5),
        ):
            slots.assert_held("org-z", 1)  # and takes no slot


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


def test_a_scan_leaves_the_reserved_slots_to_page_views(slots):
    deadline = time.monotonic() + 0.2
    with call_slot("org-r", limit=3, reserve=2, deadline=deadline, hold=5):
        # A second scan call waits: two of the three slots are kept for page views...
        with (
            pytest.raises(NoSlot),
            call_slot("org-r", limit=3, reserve=2, deadline=deadline, hold=5),
        ):
            pass
        # ...which get them, and no more.
        with (
            call_slot("org-r", limit=3, deadline=deadline, hold=5),
            call_slot("org-r", limit=3, deadline=deadline, hold=5),
        ):
            slots.assert_held("org-r", 3)
            with pytest.raises(NoSlot), call_slot("org-r", limit=3, deadline=deadline, hold=5):
                pass


# --- across replicas: a real Redis ----------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


# One replica: THREADS threads each take a slot ROUNDS times, and while they hold it count the
# holders in Redis (INCR/DECR), keeping the highest count seen.
REPLICA = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import django
    django.setup()
    import redis
    from contacts.upstream.limit import call_slot

    limit, threads, rounds = (int(a) for a in sys.argv[1:4])
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    count = client.register_script(
        "local n = redis.call('INCR', KEYS[1]) "
        "if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end "
        "return n"
    )
    done = []

    def work():
        for _ in range(rounds):
            with call_slot("org-shared", limit=limit, deadline=time.monotonic() + 30, hold=30):
                count(keys=["test:holders", "test:peak"])
                time.sleep(0.01)
                client.decr("test:holders")
            done.append(1)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(json.dumps({"done": len(done)}))
    """
)


def _replica(url: str, *args: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_DEBUG": "1",
        "REDIS_URL": url,
    }
    argv = [sys.executable, "-c", REPLICA, *map(str, args)]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603


@pytest.mark.live
def test_two_replicas_sharing_redis_never_exceed_the_limit_together(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    limit, threads, rounds = 3, 4, 15
    replicas = [_replica(redis_url, limit, threads, rounds) for _ in range(2)]
    for replica in replicas:
        out, _ = replica.communicate(timeout=120)
        assert replica.returncode == 0
        assert json.loads(out) == {"done": threads * rounds}
    # Eight threads in two processes wanted slots at once: the limit was reached, never passed.
    assert int(client.get("test:peak")) == limit
    assert int(client.get("test:holders")) == 0
    assert client.zcard("dashboard:contactship:calls:v2:org-shared") == 0  # all given back


@pytest.mark.live
def test_holds_expire_by_redis_time_not_this_replicas_clock(redis_url, settings, redis_answering):
    settings.REDIS_URL = redis_url
    redis.Redis.from_url(redis_url).flushdb()
    # A replica whose clock is a day ahead must not see the slot as expired and take it.
    with (
        call_slot("org-clock", limit=1, deadline=time.monotonic() + 1, hold=30),
        mock.patch("time.time", return_value=time.time() + 86_400),
        pytest.raises(NoSlot),
        call_slot("org-clock", limit=1, deadline=time.monotonic() + 0.2, hold=30),
    ):
        pass


@pytest.mark.live
def test_a_slot_of_a_replica_that_died_comes_back_after_its_hold(
    redis_url, settings, redis_answering
):
    settings.REDIS_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    slot = call_slot("org-dead", limit=1, deadline=time.monotonic() + 1, hold=0.5)
    slot.__enter__()  # and never left: the replica died
    taken = time.monotonic()
    # While its hold lasts, the slot stays taken...
    with (
        pytest.raises(NoSlot),
        call_slot("org-dead", limit=1, deadline=time.monotonic() + 0.1, hold=5),
    ):
        pass
    # ...and comes back when it runs out.
    with call_slot("org-dead", limit=1, deadline=time.monotonic() + 5, hold=5):
        assert time.monotonic() - taken >= 0.4


@pytest.fixture
def redis_answering():
    """Redis counted as answering, before and after: the outage state is the process's."""
    outage.reset()
    yield
    outage.reset()


def test_calls_go_through_when_redis_is_down(settings, caplog, redis_answering):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with (
        call_slot("org-down", limit=1, deadline=time.monotonic() + 1, hold=5),
        call_slot("org-down", limit=1, deadline=time.monotonic() + 1, hold=5),
    ):
        pass
    assert "cache unavailable" in caplog.text
