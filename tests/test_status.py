"""`/status/`: what an administrator sees of each organisation's calls to Contactship."""

import re
import time
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from contacts import recent
from contacts.demo.faults import Faults
from contacts.metrics import ScanConcurrency
from contacts.recent import Snapshots
from contacts.upstream.limit import call_slot, in_flight
from contacts.views import status as status_view
from tests.conftest import KEYS
from tests.support import make_user

STATUS = "/status/"


@pytest.fixture
def fresh_window(monkeypatch) -> Snapshots:
    """The status page's record of the minutes, starting now (the metrics' totals are the
    process's, counted by earlier tests too); its snapshots taken by the test, not a thread."""
    window = Snapshots()
    monkeypatch.setattr(window, "start", lambda: None)
    window.take()
    monkeypatch.setattr(status_view, "snapshots", window)
    return window


@pytest.fixture
def admin_client(django_user_model):
    admin = make_user(django_user_model, "olga")
    admin.is_staff = True
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


def row_of(content: bytes, org_id: str) -> str:
    html = content.decode()
    match = re.search(rf'<tr data-organisation="{org_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {org_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_url_is_the_contracts():
    assert reverse("status") == STATUS


def test_only_staff_see_it(member_client):
    assert Client().get(STATUS).status_code == 302  # to the login page
    assert member_client.get(STATUS).status_code == 403


def test_it_shows_calls_failures_and_the_last_failure(
    admin_client, member_client, faulty, settings, fresh_window
):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 100
    before = row_of(admin_client.get(STATUS).content, "org-harbor")
    assert "none" in before  # no failure yet
    assert member_client.get(reverse("contact_list", args=["org-harbor"])).status_code == 200
    faulty(Faults(status=500))
    assert (
        member_client.get(reverse("contact_list", args=["org-harbor"]) + "?full_name=x").status_code
        >= 500
    )
    page = admin_client.get(STATUS)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("private") or "no-store" in page["Cache-Control"]
    row = row_of(page.content, "org-harbor")
    cells = row.split()
    # One search answered, then one that failed (500 is not tried again for a page view).
    assert re.search(r"\b2 1 \(50 %\)", row), row
    assert ": server_error" in row
    assert "closed" in cells
    assert KEYS["org-harbor"][-4:] in row and KEYS["org-harbor"] not in page.content.decode()
    assert "inline" in row


def test_an_open_breaker_shows(admin_client, member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(status=503))
    member_client.get(reverse("contact_list", args=["org-tejo"]) + "?full_name=y")
    row = row_of(admin_client.get(STATUS).content, "org-tejo")
    assert "open: calls fail fast" in row


def test_calls_in_flight_are_counted():
    assert in_flight("org-status") == 0
    with call_slot("org-status", limit=4, deadline=time.monotonic() + 1, hold=5):
        assert in_flight("org-status") == 1
    assert in_flight("org-status") == 0


def test_the_window_counts_the_last_minutes_from_the_metrics_totals(monkeypatch):
    now = 1_800_000_000.0
    clock = [now - 16 * 60]
    seen = [{"org-w": Counter({"server_error": 5})}]
    monkeypatch.setattr(recent.time, "time", lambda: clock[0])
    monkeypatch.setattr(recent, "totals", lambda: seen[0])
    window = Snapshots()
    window.take()  # 16 minutes ago: outside the window
    clock[0], seen[0] = now - 14 * 60, {"org-w": Counter({"server_error": 5, "ok": 1})}
    window.take()
    clock[0] = now
    seen[0] = {"org-w": Counter({"server_error": 6, "ok": 3, "not_found": 1})}
    shown = window.window("org-w")
    assert (shown.calls, shown.failed) == (4, 1)  # a contact not found is an answer
    assert shown.since == now - 14 * 60
    assert (shown.last_failure_at, shown.last_failure) == (now, "server_error")
    assert window.window("org-other").calls == 0


def test_administrators_find_it_in_the_header(admin_client, member_client):
    assert b'href="/status/"' in admin_client.get("/").content
    assert (
        b'href="/status/"'
        not in member_client.get(reverse("contact_list", args=["org-harbor"])).content
    )


def test_it_reads_the_scans_concurrency_as_the_metrics_do(admin_client, upstream):
    share = ScanConcurrency("org-harbor")
    share.set(3)
    try:
        cells = row_of(admin_client.get(STATUS).content, "org-harbor").split()
    finally:
        share.end()
    # After the calls in flight ("0 / 8"): the running scans allow 3 calls.
    assert cells[cells.index("/") + 2] == "3"
    cells = row_of(admin_client.get(STATUS).content, "org-harbor").split()
    assert cells[cells.index("/") + 2] == "0"
