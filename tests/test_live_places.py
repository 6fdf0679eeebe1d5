"""Places of long requests under gunicorn: one member cannot take a worker's threads with
summaries, a summary.json whose client left stops calling Contactship, and a lookup whose reader
stalls gives its place back."""

import secrets
import socket
import time
from urllib.parse import urlencode

import pytest
import requests

from contacts.demo.data import contacts_for
from tests.live import LiveStack, live_stack
from tests.support import assert_others_served, timed_get

pytestmark = [pytest.mark.live, pytest.mark.timeout(150)]

ORG = "org-andes"  # 60,000 contacts: 601 pages


def _stack(**env: str):
    # Each API page takes 100 ms and a scan asks two at a time: a summary takes ~30 s.
    env = {"CONTACTSHIP_SCAN_CALLS_START": "2", "CONTACTSHIP_SCAN_CALLS_MAX": "2", **env}
    return live_stack(org_ids=[ORG], threads=8, demo_args=["--latency-ms", "100"], env=env)


def _member(stack: LiveStack, name: str) -> requests.Session:
    password = secrets.token_urlsafe(12)
    stack.add_member(name, password, ORG, can_export=False)
    return stack.login_as(name, password)


def api_calls(stack: LiveStack) -> int:
    stats = requests.get(stack.api_url.removesuffix("/v1") + "/_demo/stats", timeout=5).json()
    return stats["requests"]


def test_summaries_beyond_the_limits_get_429_and_everyone_else_is_served():
    with _stack() as stack:
        hoarder = _member(stack, "hoarder")  # no export right: summaries are all it may run
        bystander = _member(stack, "bystander")
        summary = stack.url(f"/orgs/{ORG}/contacts/summary.json?refresh=1")
        held, refused = [], []
        try:
            for _ in range(16):
                response, took = timed_get(hoarder, summary, stream=True)
                if response.status_code == 200:
                    held.append(response)
                else:
                    assert response.status_code == 429, response.status_code
                    assert took < 1.0
                    assert response.headers["Retry-After"] == "30"
                    assert "Summaries of yours being counted now: 2." in response.json()["message"]
                    refused.append(response)
                    response.close()
            assert len(held) == 2 and len(refused) == 14, stack.log_tail("gunicorn", 40)

            # The process's summaries are taken (2 by default): another person's is refused too,
            # but their search, the login page and the health check answer at once.
            other, took = timed_get(bystander, summary)
            assert other.status_code == 429 and took < 1.0
            assert "other people's summaries" in other.json()["message"]
            search_url = stack.url(f"/orgs/{ORG}/contacts/")
            assert_others_served(stack, bystander, search_url, search_within=2.0)
        finally:
            for response in held:
                response.close()


def test_summary_json_clients_that_leave_stop_their_scans():
    with _stack() as stack:
        session = stack.login()
        summary = stack.url(f"/orgs/{ORG}/contacts/summary.json?refresh=1")
        before = api_calls(stack)
        dropped = []
        for _ in range(2):
            response = session.get(summary, stream=True, timeout=10)
            assert response.status_code == 200
            dropped.append(response)
        time.sleep(2.0)
        for response in dropped:
            response.close()  # the clients leave mid-count
        # Each scan notices at its next space (a second), and asks for nothing more.
        time.sleep(2.5)
        settled = api_calls(stack)
        time.sleep(2.0)
        assert api_calls(stack) == settled, "the scans kept calling Contactship"
        spent = settled - before
        print(f"{spent} calls for two dropped summaries")
        assert spent < 2 * 601 / 4, f"{spent} calls for two summaries nobody waited for"
        # Their places came back: two more summaries start at once.
        again = [session.get(summary, stream=True, timeout=10) for _ in range(2)]
        try:
            assert [r.status_code for r in again] == [200, 200]
        finally:
            for response in again:
                response.close()


def test_a_lookup_whose_reader_stalls_gives_its_place_back():
    env = {
        "DASHBOARD_EXPORT_SEND_TIMEOUT": "2",
        "DASHBOARD_LOOKUPS_PER_USER": "1",
        "DASHBOARD_LOOKUP_MAX": "50000",
    }
    with _stack(**env) as stack:
        session = stack.login()
        lookup = stack.url(f"/orgs/{ORG}/contacts/lookup/")
        token = session.cookies["csrftoken"]
        # 100 contacts, each asked once and repeated 500 times: megabytes of rows at once, far
        # more than the socket buffers hold, so the sends block.
        emails = [c["email"] for c in contacts_for(ORG) if c.get("email")][:100] * 500
        body = urlencode({"csrfmiddlewaretoken": token, "identifiers": "\n".join(emails)})
        host, port = stack.dashboard_url.removeprefix("http://").split(":")
        cookie = f"sessionid={session.cookies['sessionid']}; csrftoken={token}"
        # A page lookup whose client never reads: the socket buffers fill, the sends block.
        raw = socket.create_connection((host, int(port)))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.sendall(
            (
                f"POST /orgs/{ORG}/contacts/lookup/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Cookie: {cookie}\r\nAccept: application/x-ndjson\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n{body}"
            ).encode()
        )
        # A connection each: one left idle while the stalled send blocks may be closed under it.
        headers = {"Accept": "application/x-ndjson", "X-CSRFToken": token, "Connection": "close"}
        small = {"identifiers": "a@example.com"}
        try:
            time.sleep(1)
            refused = session.post(lookup, data=small, headers=headers, timeout=10)
            assert refused.status_code == 429, refused.status_code
            assert "Bulk lookups of yours running now: 1." in refused.text
            # ...until a send to the stalled reader times out (DASHBOARD_EXPORT_SEND_TIMEOUT=2 s).
            started = time.monotonic()
            while True:
                response = session.post(lookup, data=small, headers=headers, timeout=10)
                response.close()
                if response.status_code == 200:
                    print(f"lookup place back after {time.monotonic() - started:.1f} s")
                    break
                assert time.monotonic() - started < 40, stack.log_tail("gunicorn", 30)
                time.sleep(0.5)
        finally:
            raw.close()
