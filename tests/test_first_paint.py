"""No blank wait: a page load shows the page at once when Contactship is slow, and the answer
that carries the results (or the error, with its status) follows; a fast answer is the whole
page, as before."""

import html
import re
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from contacts.demo.faults import Faults
from tests.support import awaiting_url

pytestmark = pytest.mark.django_db

ORG = "org-harbor"
SEARCH = reverse("contact_list", args=[ORG])
SUMMARY = reverse("contact_summary", args=[ORG])
FIRST_PAINT = 0.3  # seconds: DASHBOARD_FIRST_PAINT_SECONDS's default
AT_ONCE = FIRST_PAINT + 0.4  # seconds: the wait, and a page's rendering on a busy machine


@pytest.fixture(autouse=True)
def _first_paint(settings, faulty):
    """The default wait, which the `faulty` fixture lengthens for the other tests."""
    settings.DASHBOARD_FIRST_PAINT_SECONDS = FIRST_PAINT


NO_SCRIPT_REFRESH = re.compile(r'<noscript><meta http-equiv="refresh" content="0; url=([^"]+)">')


def timed(client, url, **extra):
    started = time.monotonic()
    response = client.get(url, **extra)
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    else:
        response.body = response.content
    return response, time.monotonic() - started


def test_a_fast_answer_is_the_whole_page(member_client, faulty):
    faulty(Faults())
    timed(member_client, SEARCH + "?full_name=b&wait=1")  # a warm process, as a server is
    response, took = timed(member_client, SEARCH + "?full_name=a")
    assert response.status_code == 200
    assert awaiting_url(response) is None
    assert b'class="results-body"' in response.body
    assert took < AT_ONCE


def test_a_hanging_search_shows_the_page_then_the_timeout(member_client, faulty):
    faulty(Faults(hang=True))
    response, took = timed(member_client, SEARCH + "?full_name=a")
    assert response.status_code == 200
    assert took < AT_ONCE
    page = response.body.decode()
    assert "Asking Contactship…" in page
    assert 'class="results-area htmx-request"' in page
    follow = awaiting_url(response)
    assert follow == "?full_name=a&wait=1"
    # Without a script, the browser asks for the whole page, told to wait.
    assert html.unescape(NO_SCRIPT_REFRESH.search(page).group(1)) == follow

    # htmx, on load: the results region, with the error's status, and the address stays.
    results, took = timed(member_client, SEARCH + follow, HTTP_HX_REQUEST="true")
    assert results.status_code == 504
    assert "did not answer in time" in results.body.decode()
    assert results["HX-Retarget"] == "#results"
    assert "HX-Push-Url" not in results
    assert "<html" not in results.body.decode()

    # The no-script page: the whole page, with its status.
    whole, _ = timed(member_client, SEARCH + follow)
    assert whole.status_code == 504
    assert "<html" in whole.body.decode() and "did not answer in time" in whole.body.decode()
    assert awaiting_url(whole) is None


def test_a_slow_search_fills_in_its_results(member_client, faulty, settings):
    settings.CONTACTSHIP_READ_TIMEOUT = 3
    settings.CONTACTSHIP_DEADLINE = 5
    faulty(Faults(latency_ms=700))
    response, took = timed(member_client, SEARCH + "?full_name=a")
    assert response.status_code == 200 and took < AT_ONCE
    follow = awaiting_url(response)
    results, _ = timed(member_client, SEARCH + follow, HTTP_HX_REQUEST="true")
    assert results.status_code == 200
    assert b'class="results-body"' in results.body


@pytest.mark.parametrize(
    "faults, status",
    [
        (Faults(status=500), 503),
        (Faults(status=401), 502),
        (Faults(rate_limit_retry_after=30), 503),
    ],
)
def test_a_quick_failure_is_the_error_page_with_its_status(member_client, faulty, faults, status):
    faulty(faults)
    response, took = timed(member_client, SEARCH + "?full_name=a")
    assert response.status_code == status
    assert awaiting_url(response) is None
    assert took < AT_ONCE + 0.5


def test_a_hanging_summary_shows_the_page_then_the_timeout(member_client, faulty):
    faulty(Faults(hang=True))
    response, took = timed(member_client, SUMMARY + "?country=Uruguay")
    assert response.status_code == 200
    assert took < AT_ONCE
    page = response.body.decode()
    assert "Asking Contactship…" in page
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page)
    follow = html.unescape(refresh.group(1))
    assert follow == "?country=Uruguay&wait=1"

    # The same summary, waited for: the error page with its status (and its place given back).
    error, _ = timed(member_client, SUMMARY + follow)
    assert error.status_code == 504
    assert "did not answer in time" in error.body.decode()


def test_a_fast_summary_streams_at_once(member_client, faulty):
    faulty(Faults())
    # The first count of a process builds its country index: warm, as a server is.
    timed(member_client, SUMMARY + "?country=Uruguay&wait=1")
    cache.clear()
    response, took = timed(member_client, SUMMARY + "?country=Uruguay")
    assert response.status_code == 200
    assert response.streaming
    assert b'id="summary"' in response.body
    assert b"http-equiv" not in response.body
    assert took < 1.5  # two pages of a healthy Contactship, counted
