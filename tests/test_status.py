"""`/status/`: what an administrator sees of each organisation's calls to Contactship."""

import re
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from contacts.demo.faults import Faults
from contacts.metrics import ScanConcurrency
from contacts.upstream.limit import call_slot, in_flight
from contacts.upstream.recent import RecentCalls, recent_calls
from tests.conftest import KEYS
from tests.support import make_user

STATUS = "/status/"


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
    admin_client, member_client, faulty, settings
):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 100
    recent_calls.flush()  # what earlier tests counted, then forgotten
    cache.clear()
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
    assert ": 500" in row
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


def test_the_window_forgets_calls_older_than_it(monkeypatch):
    recent = RecentCalls()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 16 * 60)
    recent.record("org-old", "500", failed=True)
    recent.flush()
    monkeypatch.setattr(time, "time", lambda: now)
    recent.record("org-old", "200", failed=False)
    assert recent.window("org-old") == (1, 0)
    when, outcome = recent.last_error("org-old")
    assert outcome == "500" and when == pytest.approx(now - 16 * 60)


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
