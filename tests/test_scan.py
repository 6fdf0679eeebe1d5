"""The scan engine against the demo API over loopback: paging, its end, the cap, an upstream that
ignores paging, cancellation, the breaker, and backing off from an upstream that refuses."""

import time

import pytest
from django.urls import reverse

from contacts.contact.query import ContactQuery
from contacts.demo.data import contacts_for, matches
from contacts.demo.faults import Faults
from contacts.upstream.decode import contacts_from_json
from contacts.upstream.errors import (
    ExportTooLarge,
    PagingIgnored,
    UpstreamBadRequest,
    UpstreamUnavailable,
)
from contacts.upstream.organisations import organisation_get
from contacts.upstream.scan import contact_scan, scan_window
from tests.support import scan_threads

pytestmark = pytest.mark.django_db


def scan(org_id: str = "org-tejo", **filters: str):
    return contact_scan(organisation=organisation_get(org_id), query=ContactQuery(**filters))


def test_every_contact_once_in_order_and_it_stops_at_the_short_page(faulty):
    server = faulty(Faults())
    with scan() as running:
        pages = list(running)
    ids = [c.id for page in pages for c in page]
    assert ids == [c["id"] for c in contacts_for("org-tejo")]
    assert [len(p) for p in pages] == [100] * 23 + [45]
    assert running.progress.pages == 24 and running.progress.rows == 2345
    # Past the short last page only what was asked ahead, within the calls in flight allowed.
    assert 24 <= server.requests_seen <= running.progress.calls
    assert running.progress.calls <= 24 + 2 * running.limit.maximum + 1
    assert scan_threads() == []


def test_a_result_of_one_page_makes_one_call(faulty):
    server = faulty(Faults())
    pages = list(scan(full_name="ana júlia"))
    assert len(pages) == 1 and 0 < len(pages[0]) < 100
    assert server.requests_seen == 1


def test_an_empty_result_is_one_empty_page(faulty):
    server = faulty(Faults())
    assert list(scan(full_name="nobody-is-called-this")) == [[]]
    assert server.requests_seen == 1


def test_the_calls_in_flight_grow_while_answers_are_fast(faulty, settings):
    settings.CONTACTSHIP_SCAN_CALLS_START = 1
    faulty(Faults(latency_ms=20))
    with scan() as running:
        assert sum(len(page) for page in running) == 2345
    assert running.progress.in_flight_peak >= 4
    assert running.progress.overloads == 0


def test_never_more_than_the_call_limit_less_the_reserve(faulty, settings):
    settings.CONTACTSHIP_MAX_CONCURRENT_CALLS = 5
    settings.CONTACTSHIP_RESERVED_CALLS = 2
    server = faulty(Faults(latency_ms=20))
    with scan() as running:
        assert sum(len(page) for page in running) == 2345
    assert running.progress.in_flight_peak == 3
    assert server.peak_in_flight <= 3


def test_the_cap_fails_the_scan_rather_than_stop_short(faulty, settings):
    settings.CONTACTSHIP_MAX_EXPORT_PAGES = 3
    running = scan()
    assert [len(next(running)) for _ in range(3)] == [100, 100, 100]
    with pytest.raises(ExportTooLarge):
        next(running)
    assert scan_threads() == []


def test_a_result_of_exactly_the_cap_is_complete(faulty, settings):
    settings.CONTACTSHIP_PAGE_SIZE = 67  # org-tejo's 2,345 contacts are 35 pages of 67
    settings.CONTACTSHIP_MAX_EXPORT_PAGES = 35
    assert sum(len(page) for page in scan()) == 2345
    settings.CONTACTSHIP_MAX_EXPORT_PAGES = 34
    with pytest.raises(ExportTooLarge):
        list(scan())


def test_an_upstream_that_ignores_paging_fails_the_scan(faulty):
    faulty(Faults(ignore_paging=True))
    running = scan()
    assert len(next(running)) == 100
    with pytest.raises(PagingIgnored):
        next(running)


def test_closing_the_scan_cancels_its_calls_and_ends_its_threads(faulty, settings):
    settings.CONTACTSHIP_SCAN_CALLS_START = 4
    server = faulty(Faults(latency_ms=100))
    running = scan("org-tejo")
    next(running), next(running)
    assert scan_threads()
    running.close()
    asked = server.requests_seen
    assert running.threads_alive == 0  # the calls in progress ended within the grace
    time.sleep(0.3)
    assert server.requests_seen == asked  # nothing asked after closing
    assert asked < 24
    with pytest.raises(StopIteration):
        next(running)


def test_a_consumer_that_stops_early_ends_the_threads_too(faulty):
    faulty(Faults(latency_ms=20))
    for page in scan():
        assert page
        break  # the generator is closed when the loop drops it
    deadline = time.monotonic() + 5
    while scan_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scan_threads() == []


def test_speculative_pages_past_the_end_are_not_breaker_failures(member_client, faulty, settings):
    # org-harbor: 137 contacts, so pages 0 and 1; the speculative pages after fail with a 500.
    settings.CONTACTSHIP_SCAN_CALLS_START = 6
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    server = faulty(Faults(fail_from_offset=200))
    assert sum(len(page) for page in scan("org-harbor")) == 137
    assert server.requests_seen > 2  # pages past the end were asked, and failed
    # The circuit is still closed: the next page view reaches Contactship.
    response = member_client.get(reverse("contact_list", args=["org-harbor"]))
    assert response.status_code == 200


def test_a_failed_page_the_scan_needs_is_a_breaker_failure(member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    faulty(Faults(fail_from_offset=100))
    with pytest.raises(UpstreamUnavailable):
        list(scan("org-harbor"))
    response = member_client.get(reverse("contact_list", args=["org-harbor"]))
    assert b"giving it a short rest" in response.content


def test_backs_off_from_an_upstream_that_refuses_concurrent_calls(faulty, settings):
    # Two calls go out together after the first page; the upstream takes one at a time.
    settings.CONTACTSHIP_SCAN_CALLS_START = 2
    settings.CONTACTSHIP_RETRIES = 4
    server = faulty(Faults(latency_ms=30, max_concurrent=1))
    with scan() as running:
        ids = [c.id for page in running for c in page]
    assert ids == [c["id"] for c in contacts_for("org-tejo")]  # every row, once
    assert server.refused_concurrent >= 1  # it was refused...
    assert running.progress.overloads >= 1  # ...heard the 429...
    assert running.limit.limit == 1  # ...backed off to what the upstream takes...
    assert server.peak_in_flight <= 2  # ...and never pushed past its limit plus one


def test_honours_retry_after_before_asking_again(faulty, settings):
    settings.CONTACTSHIP_RETRY_AFTER_CAP = 2
    faulty(Faults(rate_limit_retry_after=1, rate_limit_count=1))
    started = time.monotonic()
    with scan("org-tejo", full_name="ro") as running:
        rows = sum(len(page) for page in running)
    assert rows == len(matches("org-tejo", full_name="ro"))
    assert time.monotonic() - started >= 1.0
    assert running.progress.overloads == 1


def test_a_running_scan_leaves_page_views_their_reserved_calls(member_client, faulty, settings):
    # Three calls in flight for the organisation; a scan may take two, one stays for pages.
    settings.CONTACTSHIP_MAX_CONCURRENT_CALLS = 3
    settings.CONTACTSHIP_RESERVED_CALLS = 1
    settings.CONTACTSHIP_SCAN_CALLS_START = 8
    settings.CONTACTSHIP_DEADLINE = 5
    server = faulty(Faults(latency_ms=150))
    with scan() as running:
        next(running), next(running)  # the scan now keeps its calls in flight
        assert running.limit.maximum == 2
        started = time.monotonic()
        page = member_client.get(reverse("contact_list", args=["org-tejo"]) + "?refresh=1")
        waited = time.monotonic() - started
    assert page.status_code == 200
    assert waited < 2.0  # it did not queue behind the export's calls
    assert server.peak_in_flight <= 3


# --- retries ------------------------------------------------------------------------------------


def page_views_refused(member_client, org_id: str = "org-harbor") -> bool:
    response = member_client.get(reverse("contact_list", args=[org_id]))
    return b"giving it a short rest" in response.content


@pytest.mark.parametrize("status", [500, 502])
def test_a_failing_page_is_tried_again_then_fails(faulty, settings, status):
    settings.CONTACTSHIP_RETRIES = 0  # a page view's retries; a scan's page has its own
    settings.CONTACTSHIP_SCAN_RETRIES = 3
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 0
    server = faulty(Faults(status=status))
    with pytest.raises(UpstreamUnavailable):
        list(scan("org-harbor"))
    assert server.requests_seen == 4


def test_a_page_refused_as_a_bad_request_is_not_tried_again(faulty, settings):
    settings.CONTACTSHIP_SCAN_RETRIES = 3
    server = faulty(Faults(status=400))
    with pytest.raises(UpstreamBadRequest):
        list(scan("org-harbor"))
    assert server.requests_seen == 1


def test_retries_stop_at_the_deadline(faulty, settings):
    settings.CONTACTSHIP_SCAN_RETRIES = 50
    settings.CONTACTSHIP_BACKOFF = 0.05
    settings.CONTACTSHIP_DEADLINE = 0.6
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 0
    server = faulty(Faults(status=500))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        list(scan("org-harbor"))
    assert time.monotonic() - started < 0.9
    assert 2 <= server.requests_seen < 12  # backoff doubling: 0.05, 0.1, 0.2... at most


def test_each_failed_attempt_counts_for_the_breaker(member_client, faulty, settings):
    settings.CONTACTSHIP_SCAN_RETRIES = 4
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 6
    faulty(Faults(status=500))
    with pytest.raises(UpstreamUnavailable):
        list(scan("org-harbor"))  # five failed attempts: one short of opening the circuit
    assert not page_views_refused(member_client)  # its own call: the sixth failure
    assert page_views_refused(member_client)


def test_a_scan_that_takes_the_half_open_trial_makes_one_call(member_client, faulty, settings):
    settings.CONTACTSHIP_SCAN_RETRIES = 4
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    settings.CONTACTSHIP_BREAKER_COOLDOWN = 0.3
    server = faulty(Faults(status=500))
    assert not page_views_refused(member_client)  # fails and opens the circuit
    assert page_views_refused(member_client)
    time.sleep(0.35)
    server.faults = Faults(status=500)  # counting from here
    with pytest.raises(UpstreamUnavailable):
        list(scan("org-harbor"))
    assert server.requests_seen == 1  # the trial is one call, not one call and its retries
    assert page_views_refused(member_client)


# --- a window of a post-filtered result, for the search page -------------------------------------


def window(start: int, size: int, budget: float = 60.0, org_id: str = "org-tejo", **filters):
    return scan_window(
        organisation=organisation_get(org_id),
        query=ContactQuery(**filters),
        start=start,
        size=size,
        budget=budget,
    )


def test_windows_continued_from_their_offsets_give_every_match_once_in_order(upstream):
    query = ContactQuery(country="Argentina")
    everyone = contacts_from_json(list(contacts_for("org-tejo")))
    expected = [c.id for c in everyone if query.matches(c)]
    assert 0 < len(expected) < len(everyone)
    seen: list[str] = []
    read_in_all = 0
    start: int | None = 0
    while start is not None:
        rows, next_start, read = window(start, 7, country="Argentina")
        assert all(query.matches(c) for c in rows)
        if next_start is not None:
            assert len(rows) == 7  # a window stops short only at the end (or its budget)
            assert next_start == start + read
            # The offset is just past the window's last contact.
            assert everyone[next_start - 1].id == rows[-1].id
        seen += [c.id for c in rows]
        read_in_all += read
        start = next_start
    assert seen == expected
    assert read_in_all == len(everyone)  # every contact read once, none twice
    assert scan_threads() == []


def test_a_window_ending_on_the_last_contact_says_there_is_no_more(upstream):
    # org-tejo has 2345 contacts: the last page holds 45, from offset 2300.
    rows, next_start, read = window(2300, 45)
    assert len(rows) == 45 and next_start is None and read == 45
    rows, next_start, read = window(2300, 44)
    assert len(rows) == 44 and next_start == 2344 and read == 44
    rows, next_start, read = window(2300, 46)
    assert len(rows) == 45 and next_start is None and read == 45
    # A window that fills up on a full page's last contact does not know the end yet.
    rows, next_start, read = window(2200, 100)
    assert len(rows) == 100 and next_start == 2300 and read == 100


def test_a_window_stops_at_its_budget_after_a_whole_page(upstream):
    rows, next_start, read = window(0, 1000, budget=0, country="Argentina")
    assert next_start == 100 and read == 100  # one page read, then the budget was spent
    first_page = contacts_from_json(list(contacts_for("org-tejo")[:100]))
    assert [c.id for c in rows] == [c.id for c in first_page if c.country == "Argentina"]
    assert scan_threads() == []


def test_a_window_of_a_result_the_upstream_narrows_reads_only_that_result(upstream):
    rows, next_start, read = window(0, 5, full_name="ana", country="Brasil")
    expected = [
        c.id
        for c in contacts_from_json(matches("org-tejo", full_name="ana"))
        if c.country == "Brasil"
    ][:5]
    assert [c.id for c in rows] == expected
    assert next_start == read  # a window from 0 continues where it stopped reading
