"""Concurrent exports are limited per user and per process, and a ticket is given back on every
path. In-process here; `test_live_export_limits.py` shows it under gunicorn.

Downloads are held open by not reading them: the test client closes a streamed response (and so
gives its ticket back) when its content has been read, or when `close()` is called.
"""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from contacts import places
from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.upstream.errors import ExportTimeLimit, UpstreamUnavailable
from tests.support import logged_in_client

pytestmark = pytest.mark.django_db

ORG = "org-harbor"


@pytest.fixture
def held():
    """Responses the test keeps open; closed at the end whatever happens."""
    responses = []
    yield responses
    for response in responses:
        response.close()
    assert places.taken() == 0


def _export(client, fmt="csv"):
    started = time.monotonic()
    response = client.get(reverse("contact_export", args=[ORG, fmt]))
    return response, time.monotonic() - started


@pytest.fixture
def other_client(django_user_model):
    return logged_in_client(django_user_model, "bea", {ORG: True})


# transaction=True: closing a response ends its request, and Django then closes a database
# connection found inside a transaction, as the test's own would be (a real close under
# PostgreSQL's connection pool).
@pytest.mark.django_db(transaction=True)
def test_a_user_beyond_the_limit_gets_429_at_once_while_others_carry_on(
    upstream, settings, member_client, other_client, held
):
    settings.DASHBOARD_EXPORTS_PER_USER = 2
    settings.DASHBOARD_EXPORTS_PER_PROCESS = 6
    for _ in range(2):
        response, _ = _export(member_client)
        assert response.status_code == 200
        held.append(response)

    refused, took = _export(member_client, "xlsx")
    assert refused.status_code == 429
    assert took < 1.0
    page = refused.content.decode()
    assert "Your exports running now: 2." in page
    assert "Each person may run 2 at a time" in page
    assert refused["Retry-After"]

    # Someone else is not held up by it.
    response, took = _export(other_client)
    assert response.status_code == 200
    held.append(response)
    search = other_client.get(reverse("contact_list", args=[ORG]), {"full_name": "a"})
    assert search.status_code == 200
    assert other_client.get("/healthz").status_code == 200

    # A download that ends gives its place back.
    held.pop(0).close()
    response, _ = _export(member_client)
    assert response.status_code == 200
    held.append(response)


def test_the_process_limit_keeps_threads_for_pages(
    upstream, settings, member_client, other_client, held
):
    settings.DASHBOARD_EXPORTS_PER_USER = 5
    settings.DASHBOARD_EXPORTS_PER_PROCESS = 2
    for _ in range(2):
        response, _ = _export(member_client)
        assert response.status_code == 200
        held.append(response)
    refused, _ = _export(other_client)
    assert refused.status_code == 429
    assert "Your exports running now: 0." in refused.content.decode()
    assert "busy with other people" in refused.content.decode()


def test_a_ticket_comes_back_on_completion_failure_and_the_time_bound(
    faulty, settings, member_client, held
):
    settings.DASHBOARD_EXPORTS_PER_USER = 1
    # Completed.
    faulty(Faults())
    response, _ = _export(member_client)
    assert b"".join(response.streaming_content).count(b"\r\n") == len(contacts_for(ORG)) + 1
    # Failed in the middle (the second page answers 500).
    faulty(Faults(fail_from_offset=100))
    response, _ = _export(member_client)
    assert response.status_code == 200
    with pytest.raises(UpstreamUnavailable):
        b"".join(response.streaming_content)
    # Failed before the first byte.
    faulty(Faults(status=500))
    assert _export(member_client)[0].status_code == 503
    # Longer than DASHBOARD_EXPORT_MAX_SECONDS: aborted.
    cache.clear()  # the failures above opened the organisation's circuit
    faulty(Faults())
    settings.DASHBOARD_EXPORT_MAX_SECONDS = 0
    response, _ = _export(member_client)
    with pytest.raises(ExportTimeLimit):
        b"".join(response.streaming_content)
    settings.DASHBOARD_EXPORT_MAX_SECONDS = 60
    # Each of those gave its ticket back: the one allowed export starts.
    response, _ = _export(member_client)
    assert response.status_code == 200
    held.append(response)
