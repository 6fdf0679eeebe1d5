"""A bulk lookup on a bad day: against a rate-limiting, a failing and a hanging Contactship (the
demo API's faults, over loopback, with the production timeouts), it stops asking within seconds,
says why in the search page's words, marks every row it did not ask, and "Retry the failed ones"
asks again for those rows only once Contactship is well."""

import io
import json
import re
import time
from collections import Counter

import phonenumbers
import pytest
from django.urls import reverse
from openpyxl import load_workbook

from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from tests.support import body_of, csv_records

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(90)]

NDJSON = "application/x-ndjson"
ORG = "org-tejo"
LOOKUP = reverse("contact_lookup", args=[ORG])
STOPS_WITHIN = 15.0  # seconds

# What the search page titles each failure, and the wait a rate limit asked for.
FAULTS = {
    "rate-limited": (Faults(rate_limit_retry_after=30), "Contactship is busy, try again in 30 s"),
    "failing": (Faults(status=503), "Contactship is not answering"),
    "hanging": (Faults(hang=True), "Contactship is taking too long"),
}


@pytest.fixture
def production_timeouts(settings):
    """The defaults a deployment runs with, not the test suite's short ones: what a
    salesperson waits is what is measured."""
    settings.CONTACTSHIP_CONNECT_TIMEOUT = 3.05
    settings.CONTACTSHIP_READ_TIMEOUT = 10.0
    settings.CONTACTSHIP_DEADLINE = 20.0
    settings.CONTACTSHIP_BACKOFF = 0.25
    settings.CONTACTSHIP_RETRY_AFTER_CAP = 5.0


def people(count: int) -> list[dict]:
    """Contacts with an email of their own, well formed (not one of the data-quality cases of
    contacts.demo.quality)."""
    contacts = contacts_for(ORG)
    emails = Counter((c.get("email") or "").strip().casefold() for c in contacts)
    return [
        c
        for c in contacts
        if c.get("id")
        and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", c.get("email") or "")
        and emails[c["email"].casefold()] == 1
    ][:count]


def hundred_values() -> list[str]:
    known = [p["email"] for p in people(60)]
    return known + [f"nobody{n}@example.invalid" for n in range(100 - len(known))]


def streamed(response) -> tuple[list[dict], dict]:
    assert response["Content-Type"] == NDJSON
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert lines[-1]["type"] == "end"
    return [line for line in lines if line["type"] == "row"], lines[-1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "fault",
    # Against a hanging API the lookup waits out one read timeout (10 s): slow.
    [pytest.param(f, marks=[pytest.mark.slow] if f == "hanging" else []) for f in FAULTS],
)
def test_a_100_value_lookup_stops_within_seconds_and_marks_every_row_not_asked(
    member_client, faulty, production_timeouts, fault
):
    faults, words = FAULTS[fault]
    faulty(faults)
    started = time.monotonic()
    response = member_client.post(
        LOOKUP, {"identifiers": "\n".join(hundred_values())}, headers={"Accept": NDJSON}
    )
    rows, end = streamed(response)
    assert time.monotonic() - started < STOPS_WITHIN
    assert len(rows) == 100
    assert {row["status"] for row in rows} == {"failed"}
    not_asked = [row for row in rows if not row["asked"]]
    assert len(not_asked) == end["not_asked"] >= 90
    for row in rows:
        assert words in row["reason"]
    for row in not_asked:
        assert row["reason"] == f"Not asked: {words}"
    stopped = end["stopped"]
    assert stopped["summary"] == (
        f"{100 - len(not_asked)} of 100 looked up; {len(not_asked)} not asked: {words}"
    )
    assert stopped["title"] == words.split(",")[0]  # the search page's title for the error
    assert end["retry"]


@pytest.fixture
def one_call_at_a_time(settings):
    """Calls one after the other: the first failure is then the only value asked."""
    settings.CONTACTSHIP_SCAN_CALLS_START = 1
    settings.CONTACTSHIP_SCAN_CALLS_MAX = 1


def test_the_page_without_javascript_says_why_and_offers_the_retry(
    member_client, faulty, production_timeouts, one_call_at_a_time
):
    faulty(FAULTS["rate-limited"][0])
    response = member_client.post(LOOKUP, {"identifiers": "\n".join(hundred_values())})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Contactship is busy" in page  # the banner, as the search page titles it
    assert "1 of 100 looked up; 99 not asked: Contactship is busy, try again in 30 s" in page
    assert 'id="lookup-retry-form"' in page and 'name="retry" id="lookup-retry-key" value="' in page
    assert page.count("Not asked: Contactship is busy, try again in 30 s") == 99


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_files_mark_the_rows_not_asked_with_the_reason(
    member_client, faulty, production_timeouts, one_call_at_a_time, fmt
):
    faulty(FAULTS["rate-limited"][0])
    values = [p["email"] for p in people(3)] + ["hello"]
    url = reverse("contact_lookup_file", args=[ORG, fmt])
    response = member_client.post(url, {"identifiers": "\n\n".join(values)})
    assert response.status_code == 200
    rows = by_column_name(response, fmt)
    assert [(r["line"], r["input"], r["status"]) for r in rows] == [
        ("1", values[0], "failed"),
        ("3", values[1], "failed"),
        ("5", values[2], "failed"),
        ("7", "hello", "invalid"),
    ]
    assert [r["reason"] for r in rows] == [
        "Contactship is busy, try again in 30 s",
        "Not asked: Contactship is busy, try again in 30 s",
        "Not asked: Contactship is busy, try again in 30 s",
        "Not an email, a phone number or a contact id",
    ]


def by_column_name(response, fmt: str) -> list[dict]:
    """The file's rows as dicts by column name, every cell as text ("" for an empty one)."""
    if fmt == "csv":
        return csv_records(body_of(response))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [
        {name: "" if value is None else str(value) for name, value in zip(header, row, strict=True)}
        for row in rows
    ]


@pytest.mark.django_db(transaction=True)
def test_retry_the_failed_ones_asks_for_those_rows_only_and_keeps_the_others(
    member_client, faulty, fault_server, one_call_at_a_time
):
    known = people(12)
    values = [p["email"] for p in known] + ["hello", known[0]["email"], "nobody@example.invalid"]
    faulty(Faults(latency_ms=20))
    response = member_client.post(
        LOOKUP, {"identifiers": "\n".join(values)}, headers={"Accept": NDJSON}
    )
    chunks = iter(response.streaming_content)
    read = [next(chunks) for _ in range(4)]  # the start and three rows, found
    faulty(Faults(rate_limit_retry_after=30))  # then Contactship rate-limits
    lines = [json.loads(line) for line in b"".join([*read, *chunks]).splitlines()]
    first = [line for line in lines if line["type"] == "row"]
    end = lines[-1]
    found = [row for row in first if row["status"] == "found"]
    failed = [row for row in first if row["result"] == "failed"]
    assert len(found) >= 3 and len(failed) >= 5
    assert end["stopped"]["summary"].endswith("not asked: Contactship is busy, try again in 30 s")

    key = end["retry"]
    fault_server.faults = Faults()  # well again; counting the calls from here
    retried = member_client.post(LOOKUP, {"retry": key}, headers={"Accept": NDJSON})
    rows, end = streamed(retried)
    asked_again = {row["input"].casefold() for row in failed if row["status"] != "duplicate"}
    assert fault_server.requests_seen == len(asked_again)  # none for the rows found before
    assert [(r["line"], r["input"]) for r in rows] == [(r["line"], r["input"]) for r in first]
    by_line = {row["line"]: row for row in rows}
    for row in found:
        assert by_line[row["line"]] == {**row, "done": by_line[row["line"]]["done"]}
    assert [r["status"] for r in rows] == ["found"] * 12 + ["invalid", "duplicate", "not_found"]
    assert rows[13]["reason"] == "Repeats line 1"
    assert "stopped" not in end and end["retry"] is None

    # The same key gives the files too, by column name, with the same lines.
    url = reverse("contact_lookup_file", args=[ORG, "csv"])
    file_rows = csv_records(body_of(member_client.post(url, {"retry": key})))
    assert [(r["line"], r["status"]) for r in file_rows] == [
        (str(r["line"]), r["status"]) for r in rows
    ]


def test_a_retry_key_of_someone_else_or_gone_is_refused(member_client, faulty):
    response = member_client.post(LOOKUP, {"retry": "not-a-key-anyone-was-given"})
    assert response.status_code == 410
    assert "no longer kept" in response.content.decode()


def test_a_phone_number_whose_plus_a_spreadsheet_dropped_is_found(
    member_client, upstream, settings
):
    # Without a default region (the tests' org-tejo reads national numbers as Brazilian).
    settings.CONTACTSHIP_ORGANISATIONS = {
        **settings.CONTACTSHIP_ORGANISATIONS,
        ORG: {**settings.CONTACTSHIP_ORGANISATIONS[ORG], "default_region": ""},
    }
    contact = next(
        c
        for c in contacts_for(ORG)
        if (c.get("phone_number") or "").startswith("+55")
        and phonenumbers.is_valid_number(phonenumbers.parse(c["phone_number"]))
    )
    digits = contact["phone_number"].removeprefix("+")
    url = reverse("contact_lookup_file", args=[ORG, "csv"])
    response = member_client.post(url, {"identifiers": digits})
    (row,) = csv_records(body_of(response))
    assert (row["input_type"], row["status"], row["id"]) == (
        "phone_number",
        "found",
        contact["id"],
    )
    assert row["reason"].startswith("Read as +55 ")
    assert row["reason"].endswith(": the + was missing")
    # Quick find goes to it too, rather than saying its country code is missing.
    find = member_client.get(reverse("contact_find", args=[ORG]), {"q": digits})
    assert (find.status_code, find["Location"]) == (302, contact_page(contact["id"]))


def contact_page(contact_id: str) -> str:
    return reverse("contact_detail", args=[ORG, contact_id])
