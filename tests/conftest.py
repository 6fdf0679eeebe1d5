"""Shared fixtures: the bundled demo Contactship API as a real server on loopback.

`demo_api` runs it as a subprocess for the whole session (as `make run` does); `faulty_api` runs a
second one in a thread whose faults each test switches. Both speak real HTTP over loopback.
"""

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache

from contacts.demo.data import DEMO_ORGANISATIONS
from contacts.demo.faults import Faults
from contacts.demo.server import serve_in_thread
from contacts.search.contact_search import PAGE_CALL_THREAD
from tests.support import demo_api_process, make_user

ROOT = Path(__file__).resolve().parent.parent

# Keys made fresh for each run: no key, not even a demo's, is written into the repository.
KEYS = {org_id: "test-" + secrets.token_urlsafe(16) for org_id in DEMO_ORGANISATIONS}
ORGANISATIONS = {org_id: org.setting(KEYS[org_id]) for org_id, org in DEMO_ORGANISATIONS.items()}


# Pages are whole, however busy the machine and slow the fault: the first paint, a page shown
# before Contactship answered, has tests of its own (test_first_paint.py).
FIRST_PAINT_TESTED_APART = 30.0  # seconds: longer than any call's deadline


@dataclass(frozen=True)
class DemoApi:
    base_url: str
    organisations: dict


@pytest.fixture(scope="session")
def demo_api() -> Iterator[DemoApi]:
    with demo_api_process(organisations=ORGANISATIONS) as (base_url, _):
        yield DemoApi(base_url=base_url, organisations=ORGANISATIONS)


@pytest.fixture(scope="session")
def fault_server():
    with serve_in_thread({org_id: KEYS[org_id] for org_id in ("org-harbor", "org-tejo")}) as server:
        yield server


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The real hasher is slow on purpose; tests log users in by the dozen.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Empty, and answering: a cache an earlier test broke on purpose is not resting still.
    from contacts.cache import outage

    outage.reset()
    cache.clear()


@pytest.fixture(autouse=True)
def _export_places_given_back():
    """Every long request a test starts (export, summary, lookup) gives its place back: the
    test closes (or reads to the end) each response, as a server always does. A place left
    taken would count against whichever later test takes one next, so it fails here, where it
    was left."""
    from contacts import places

    yield
    left = places.reset()
    if left:
        pytest.fail(f"{left} place(s) still taken: close the streamed responses")


@pytest.fixture
def upstream(settings, demo_api):
    """Point the dashboard at the demo API, with short timeouts so failing tests fail fast."""
    settings.CONTACTSHIP_API_URL = demo_api.base_url
    settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
    settings.CONTACTSHIP_READ_TIMEOUT = 5
    settings.CONTACTSHIP_DEADLINE = 8
    settings.DASHBOARD_FIRST_PAINT_SECONDS = FIRST_PAINT_TESTED_APART
    return demo_api


@pytest.fixture
def faulty(settings, fault_server):
    """The dashboard against the in-thread demo API; `faulty(Faults(...))` switches its fault."""
    settings.CONTACTSHIP_API_URL = fault_server.base_url
    settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
    settings.CONTACTSHIP_CONNECT_TIMEOUT = 0.5
    settings.CONTACTSHIP_READ_TIMEOUT = 0.5
    settings.CONTACTSHIP_DEADLINE = 2.0
    settings.CONTACTSHIP_BACKOFF = 0.05
    settings.CONTACTSHIP_RETRY_AFTER_CAP = 1.0
    settings.DASHBOARD_FIRST_PAINT_SECONDS = FIRST_PAINT_TESTED_APART

    def switch(faults: Faults):
        fault_server.faults = faults
        return fault_server

    yield switch
    fault_server.faults = Faults()


@pytest.fixture
def member(django_user_model):
    """Member of org-harbor and org-tejo, with the export right in both."""
    return make_user(django_user_model, "ana", {"org-harbor": True, "org-tejo": True})


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def upstream_lines(caplog) -> list[dict]:
    """The structured upstream log lines of this thread's calls.

    An earlier test's export may still be finishing a page in its read-ahead thread; its lines
    are not this test's. A search page's call has ended before its page answers.
    """
    here = threading.get_ident()
    return [
        r.upstream
        for r in caplog.records
        if hasattr(r, "upstream")
        # the search page asks for its page on a thread of its own while it renders the rest
        and (r.thread == here or r.threadName.startswith(PAGE_CALL_THREAD))
    ]
