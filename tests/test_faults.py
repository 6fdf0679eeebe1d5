"""The fault matrix: each fault of the demo API × {search page, contact page, CSV export}.

Every cell states the status a team member gets, words they read, and a bound on the time they
wait. The in-thread demo API switches faults per test; timeouts are short (see `faulty`).
"""

import csv
import io
import time
from dataclasses import dataclass

import pytest
from django.urls import reverse

from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.upstream.errors import PagingIgnored, UpstreamUnavailable
from tests.conftest import upstream_lines
from tests.support import search_answer

pytestmark = pytest.mark.django_db

ORG = "org-harbor"  # 137 contacts: a full page and a short one
CONTACT_ID = contacts_for(ORG)[0]["id"]
TOO_SLOW = "did not answer in time"
DOWN = "unavailable at the moment"
UNEXPECTED = "does not understand"
BUSY = "asked us to slow down"
KEY_REFUSED = "rejected this organisation"


@dataclass(frozen=True)
class Expect:
    status: int
    text: str = ""
    within: float = 1.5  # seconds


OK = Expect(200)

# fault → (search page, contact page, CSV export)
MATRIX: dict[str, tuple[Faults, Expect, Expect, Expect]] = {
    "none": (Faults(), OK, OK, OK),
    "latency below the timeout": (
        Faults(latency_ms=150),
        Expect(200, within=1.0),
        Expect(200, within=1.0),
        Expect(200, within=1.5),
    ),
    "latency above the timeout": (
        Faults(latency_ms=900),
        Expect(504, TOO_SLOW),
        Expect(504, TOO_SLOW),
        Expect(504, TOO_SLOW),
    ),
    "hang": (
        Faults(hang=True),
        Expect(504, TOO_SLOW),
        Expect(504, TOO_SLOW),
        Expect(504, TOO_SLOW),
    ),
    "error rate 100%": (
        Faults(error_rate=1.0),
        Expect(503, DOWN),
        Expect(503, DOWN),
        Expect(503, DOWN),
    ),
    "status 500": (Faults(status=500), Expect(503, DOWN), Expect(503, DOWN), Expect(503, DOWN)),
    "status 502 (retried)": (
        Faults(status=502),
        Expect(503, DOWN, within=2.5),
        Expect(503, DOWN, within=2.5),
        Expect(503, DOWN, within=2.5),
    ),
    "status 503 (retried)": (
        Faults(status=503),
        Expect(503, DOWN, within=2.5),
        Expect(503, DOWN, within=2.5),
        Expect(503, DOWN, within=2.5),
    ),
    "status 401": (
        Faults(status=401),
        Expect(502, KEY_REFUSED),
        Expect(502, KEY_REFUSED),
        Expect(502, KEY_REFUSED),
    ),
    "status 400": (
        Faults(status=400),
        Expect(400, "did not accept this search"),
        Expect(400, "did not accept this search"),
        Expect(400, "did not accept this search"),
    ),
    "non-JSON body": (
        Faults(non_json=True),
        Expect(502, UNEXPECTED),
        Expect(502, UNEXPECTED),
        Expect(502, UNEXPECTED),
    ),
    "JSON of the wrong shape": (
        Faults(wrong_shape=True),
        Expect(502, UNEXPECTED),
        Expect(502, UNEXPECTED),
        Expect(502, UNEXPECTED),
    ),
    "429 with a long Retry-After": (
        Faults(rate_limit_retry_after=30),
        Expect(503, BUSY, within=0.5),
        Expect(503, BUSY, within=0.5),
        Expect(503, BUSY, within=0.5),
    ),
    "429 until the deadline": (
        Faults(rate_limit_retry_after=1),
        Expect(503, BUSY, within=2.5),
        Expect(503, BUSY, within=2.5),
        Expect(503, BUSY, within=2.5),
    ),
}


def urls() -> dict[str, str]:
    return {
        "search": reverse("contact_list", args=[ORG]),
        "contact": reverse("contact_detail", args=[ORG, CONTACT_ID]),
        "export": reverse("contact_export", args=[ORG, "csv"]),
    }


CASES = [
    pytest.param(faults, page, expect, id=f"{name} / {page}")
    for name, (faults, *expects) in MATRIX.items()
    for page, expect in zip(("search", "contact", "export"), expects, strict=True)
]


@pytest.mark.parametrize("faults, page, expect", CASES)
def test_fault_matrix(member_client, faulty, faults, page, expect):
    faulty(faults)
    started = time.monotonic()
    # The search page shows itself at once when Contactship is slow; the answer that counts is
    # the one that carries its results.
    response = search_answer(member_client, urls()[page])
    body = b"".join(response.streaming_content) if response.streaming else response.content
    elapsed = time.monotonic() - started

    assert response.status_code == expect.status
    assert elapsed < expect.within, f"took {elapsed:.2f}s"
    text = body.decode("utf-8-sig")
    assert expect.text in text
    assert "Traceback" not in text
    if expect.status == 200 and page == "export":
        assert len(list(csv.reader(io.StringIO(text, newline="")))) == len(contacts_for(ORG)) + 1
    if expect.status >= 500:
        assert "Try again" in text or (expect.status == 502 and KEY_REFUSED in text)


def test_429_with_a_short_retry_after_is_waited_out(member_client, faulty):
    faulty(Faults(rate_limit_retry_after=1, rate_limit_count=1))
    started = time.monotonic()
    response = member_client.get(urls()["search"])
    assert response.status_code == 200
    assert 1.0 <= time.monotonic() - started < 2.0


def test_a_rate_limited_page_tells_the_browser_when_to_come_back(member_client, faulty):
    faulty(Faults(rate_limit_retry_after=30))
    response = member_client.get(urls()["search"])
    assert response["Retry-After"] == "30"


def test_upstream_down_is_503_quickly(member_client, settings, faulty):
    settings.CONTACTSHIP_API_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    for url in urls().values():
        started = time.monotonic()
        response = member_client.get(url)
        assert response.status_code == 503
        assert DOWN.encode() in response.content
        assert time.monotonic() - started < 1.5


def test_paging_ignored_stops_the_export_visibly(member_client, faulty, caplog):
    faulty(Faults(ignore_paging=True))
    search = member_client.get(urls()["search"])
    assert search.status_code == 200
    response = member_client.get(urls()["export"])
    assert response.status_code == 200
    with pytest.raises(PagingIgnored):
        b"".join(response.streaming_content)
    assert "paging ignored" in caplog.text
    assert "export failed org=org-harbor user=ana format=csv rows=100" in caplog.text


def test_failure_mid_export_aborts_the_download(member_client, faulty, caplog):
    faulty(Faults(fail_from_offset=100))
    response = member_client.get(urls()["export"])
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    first = next(chunks).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(first, newline="")))) == 101  # header, first page
    with pytest.raises(UpstreamUnavailable):
        list(chunks)
    assert "export failed org=org-harbor user=ana format=csv rows=100" in caplog.text
    second_page = member_client.get(urls()["search"] + "?page=2")
    assert second_page.status_code == 503


def this_threads_attempts(caplog) -> list[int]:
    return [line["attempt"] for line in upstream_lines(caplog)]


def test_retries_are_logged_one_line_per_attempt(member_client, faulty, caplog, settings):
    settings.CONTACTSHIP_RETRIES = 2
    faulty(Faults(status=503))
    member_client.get(urls()["search"])
    assert this_threads_attempts(caplog) == [1, 2, 3]


def test_400_and_404_are_not_retried(member_client, faulty, caplog):
    faulty(Faults(status=400))
    member_client.get(urls()["search"])
    assert this_threads_attempts(caplog) == [1]


def test_the_circuit_opens_after_repeated_failures_then_a_trial_closes_it(
    member_client, faulty, settings, caplog
):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 3
    settings.CONTACTSHIP_BREAKER_COOLDOWN = 0.5
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(status=500))
    for _ in range(3):
        assert member_client.get(urls()["search"]).status_code == 503
    calls_before = len([line for line in upstream_lines(caplog) if line["attempt"]])

    faulty(Faults())  # upstream healthy again, but the circuit is open
    started = time.monotonic()
    response = member_client.get(urls()["search"])
    assert response.status_code == 503
    assert b"giving it a short rest" in response.content
    assert time.monotonic() - started < 0.2
    calls_after = len([line for line in upstream_lines(caplog) if line["attempt"]])
    assert calls_after == calls_before, "no call may go upstream while the circuit is open"

    time.sleep(0.6)
    assert member_client.get(urls()["search"]).status_code == 200  # the trial call
    assert member_client.get(urls()["contact"]).status_code == 200


def test_a_failed_trial_reopens_the_circuit(member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 2
    settings.CONTACTSHIP_BREAKER_COOLDOWN = 0.3
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(status=500))
    for _ in range(2):
        member_client.get(urls()["search"])
    time.sleep(0.35)
    assert b"unavailable at the moment" in member_client.get(urls()["search"]).content  # trial
    assert b"short rest" in member_client.get(urls()["search"]).content  # open again


def test_one_organisation_failing_does_not_open_anothers_circuit(member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(status=500))
    member_client.get(urls()["search"])
    faulty(Faults())
    assert member_client.get(reverse("contact_list", args=["org-tejo"])).status_code == 200
