"""A replica told to stop (SIGTERM) drains: unready at once, no new connections, in-flight done.

A real gunicorn with the production configuration (dashboard/gunicorn.py and its hooks), a
real demo API that takes its time, real sockets.
"""

import os
import re
import signal
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.live import live_stack
from tests.support import in_thread

pytestmark = pytest.mark.live

LATENCY_MS = 2000


@pytest.fixture
def stopping_stack():
    with live_stack(
        demo_args=["--latency-ms", str(LATENCY_MS)],
        org_ids=["org-tejo"],
        threads=4,
        gunicorn_args=["-c", "python:dashboard.gunicorn", "--graceful-timeout", "4"],
    ) as running:
        yield running


def test_sigterm_makes_a_replica_unready_refuse_new_connections_and_finish_what_it_started(
    stopping_stack,
):
    session = stopping_stack.login()
    kept_alive = requests.Session()
    kept_alive.cookies.update(session.cookies)
    assert kept_alive.get(stopping_stack.url("/readyz"), timeout=10).status_code == 200

    # One search in flight (one upstream call), and an export far longer than the graceful
    # timeout (24 pages, each taking LATENCY_MS).
    search, searched = in_thread(
        lambda: session.get(stopping_stack.url("/orgs/org-tejo/contacts/?full_name=a"), timeout=30)
    )
    exporter = requests.Session()
    exporter.cookies.update(session.cookies)

    def export():
        with exporter.get(stopping_stack.export_url("org-tejo"), stream=True, timeout=30) as r:
            body = b"".join(r.iter_content(65536))
            return r.status_code, body

    download, downloaded = in_thread(export)
    time.sleep(LATENCY_MS / 1000 / 3)  # both are waiting for the API now
    stopping_stack.gunicorn_process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()

    # Readiness fails at once, on a connection the replica already had (kept open by gunicorn
    # for a moment after SIGTERM, to answer requests already on their way).
    while (ready := kept_alive.get(stopping_stack.url("/readyz"), timeout=10)).status_code == 200:
        assert time.monotonic() - signalled < 5, "still ready after SIGTERM"
        time.sleep(0.05)
    assert ready.status_code == 503
    assert ready.json() == {"status": "draining"}

    # New connections are refused, instead of waiting in a backlog nobody reads (before,
    # they were accepted by the kernel and hung until the worker exited).
    address = urlsplit(stopping_stack.dashboard_url)
    while True:
        try:
            socket.create_connection((address.hostname, address.port), timeout=5).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() - signalled < 5, "still accepting connections after SIGTERM"
        time.sleep(0.05)

    # The search that was running when the replica was told to stop finishes normally.
    search.join(30)
    assert "error" not in searched, searched.get("error")
    assert searched["value"].status_code == 200
    assert re.search(r"/orgs/org-tejo/contacts/[0-9a-f-]{36}/", searched["value"].text)

    # The export outlives the graceful timeout: it is cut, visibly, never ended as if complete.
    download.join(30)
    assert "value" not in downloaded, "an export cut by the shutdown looked complete"
    assert isinstance(
        downloaded["error"],
        requests.exceptions.ChunkedEncodingError | requests.exceptions.ConnectionError,
    )
    stopping_stack.gunicorn_process.wait(timeout=30)
    assert "draining: stopped accepting connections" in stopping_stack.log_tail("gunicorn", 200)


def test_a_worker_restarted_alone_leaves_its_siblings_serving():
    with live_stack(
        org_ids=["org-harbor"],
        workers=2,
        threads=2,
        gunicorn_args=["-c", "python:dashboard.gunicorn", "--graceful-timeout", "2"],
    ) as running:
        first, *_ = running.worker_pids(2)
        os.kill(first, signal.SIGTERM)  # as gunicorn does for max-requests or a reload
        deadline = time.monotonic() + 20
        while first in running.worker_pids(1) and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(10):
            assert requests.get(running.url("/healthz"), timeout=5).status_code == 200
