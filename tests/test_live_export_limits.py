"""Export limits under gunicorn: one member cannot take every worker thread,
and a client that stops reading does not hold an export for ever."""

import secrets
import socket
import time

import pytest

from tests.live import LiveStack, live_stack
from tests.support import assert_others_served, timed_get

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

ORG = "org-andes"  # 60,000 contacts: an export that lasts


def _stack(**env: str):
    env = {"DASHBOARD_EXPORTS_PER_USER": "2", "DASHBOARD_EXPORTS_PER_PROCESS": "4", **env}
    # Each API page takes 100 ms: a whole export takes over a minute.
    return live_stack(org_ids=[ORG], threads=8, demo_args=["--latency-ms", "100"], env=env)


def test_one_member_cannot_take_every_thread():
    with _stack() as stack:
        _one_member_cannot_take_every_thread(stack)


def _one_member_cannot_take_every_thread(stack: LiveStack) -> None:
    hoarder = stack.login()
    password = secrets.token_urlsafe(12)
    stack.add_member("bystander", password, ORG, can_export=False)
    bystander = stack.login_as("bystander", password)

    held = []
    try:
        # Twenty exports at once, as a script would open them: two run, the rest are refused.
        for _ in range(20):
            response, took = timed_get(hoarder, stack.export_url(ORG), stream=True)
            if response.status_code == 200:
                assert response.raw.read(1024)  # it is streaming
                held.append(response)
            else:
                assert response.status_code == 429, response.status_code
                assert "Your exports running now: 2." in response.text
                assert took < 1.0
                response.close()
        assert len(held) == 2, stack.log_tail("gunicorn", 60)

        # Everyone else is served at once.
        search_url = stack.url(f"/orgs/{ORG}/contacts/")
        assert_others_served(stack, bystander, search_url, search_within=1.0)
    finally:
        for response in held:
            response.close()


def test_a_reader_that_stops_reading_loses_its_export():
    with _stack(DASHBOARD_EXPORT_SEND_TIMEOUT="2") as stack:
        _a_reader_that_stops_reading_loses_its_export(stack)


def _a_reader_that_stops_reading_loses_its_export(stack: LiveStack) -> None:
    session = stack.login()

    # Two downloads whose client never reads a byte: the socket buffers fill, the sends block.
    host, port = stack.dashboard_url.removeprefix("http://").split(":")
    cookie = f"sessionid={session.cookies['sessionid']}"
    stalled = []
    for _ in range(2):
        raw = socket.create_connection((host, int(port)))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.sendall(
            f"GET /orgs/{ORG}/contacts/export.csv HTTP/1.1\r\nHost: {host}\r\n"
            f"Cookie: {cookie}\r\n\r\n".encode()
        )
        stalled.append(raw)
    try:
        time.sleep(1)
        # Both of this user's places are taken...
        refused, _ = timed_get(session, stack.export_url(ORG), stream=True)
        refused.close()
        assert refused.status_code == 429
        # ...until the sends to the stalled readers time out (DASHBOARD_EXPORT_SEND_TIMEOUT=2 s).
        deadline = time.monotonic() + 60
        while True:
            response, _ = timed_get(session, stack.export_url(ORG), stream=True)
            response.close()
            if response.status_code == 200:
                break
            assert time.monotonic() < deadline, "the stalled exports kept their places"
            time.sleep(0.5)
    finally:
        for raw in stalled:
            raw.close()
