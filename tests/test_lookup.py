"""Quick find and bulk lookup, through Django's test client, against the demo API over loopback."""

import io
import json
import logging
import re
import time
from collections import Counter
from datetime import datetime

import phonenumbers
import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from contacts.contact.identifiers import identifier_parse
from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.models import AuditEvent
from contacts.upstream.errors import CircuitOpen
from contacts.upstream.lookup import contact_lookup
from contacts.upstream.organisations import organisation_get
from tests.conftest import ORGANISATIONS
from tests.support import body_of, csv_records, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(90)]

NDJSON = "application/x-ndjson"
UNKNOWN_EMAIL = "nobody.at.all@example.invalid"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def complete(org_id="org-tejo", count=10, skip=0):
    """Demo contacts with an id, an email and a phone number, each their own and well formed
    (not one of the data-quality cases of contacts.demo.quality)."""
    contacts = contacts_for(org_id)
    emails = Counter((c.get("email") or "").strip().casefold() for c in contacts)
    found = [
        c
        for c in contacts
        if c.get("id")
        and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", c.get("email") or "")
        and emails[c["email"].casefold()] == 1
        and re.fullmatch(r"\+[1-9]\d{7,14}", c["phone_number"])
    ]
    return found[skip : skip + count]


def spaced(phone: str) -> str:
    """The number as people type it, with spaces and a dash: +55 21 7575-75651."""
    return f"{phone[:3]} {phone[3:5]} {phone[5:9]}-{phone[9:]}"


def national(phone: str) -> tuple[str, str]:
    number = phonenumbers.parse(phone)
    region = phonenumbers.region_code_for_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL), region


def with_region(settings, org_id: str, region: str) -> None:
    orgs = json.loads(json.dumps(ORGANISATIONS))
    orgs[org_id]["default_region"] = region
    settings.CONTACTSHIP_ORGANISATIONS = orgs


def lookup_url(name="contact_lookup", org_id="org-tejo"):
    return reverse(name, args=[org_id])


def file_url(fmt, org_id="org-tejo"):
    return reverse("contact_lookup_file", args=[org_id, fmt])


FILES = ("csv", "xlsx")


def read_csv(response) -> list[dict]:
    return csv_records(body_of(response))


def ndjson(response) -> list[dict]:
    assert response["Content-Type"] == NDJSON
    lines = b"".join(response.streaming_content).decode().splitlines()
    return [json.loads(line) for line in lines]


# --- quick find -------------------------------------------------------------------------------


def test_find_by_email_phone_with_spaces_or_id_goes_to_the_contact(member_client, upstream):
    contact = complete()[0]
    for q in (contact["email"].upper(), spaced(contact["phone_number"]), contact["id"]):
        response = member_client.get(reverse("contact_find", args=["org-tejo"]), {"q": q})
        assert response.status_code == 302, q
        assert response["Location"] == reverse("contact_detail", args=["org-tejo", contact["id"]])


def test_find_costs_one_call_and_the_contact_page_is_answered_from_it(
    member_client, faulty, fault_server
):
    contact = complete()[1]
    faulty(Faults())
    url = reverse("contact_find", args=["org-tejo"])
    response = member_client.get(url, {"q": spaced(contact["phone_number"])}, follow=True)
    assert response.status_code == 200
    assert contact["full_name"] in response.content.decode()
    assert fault_server.requests_seen == 1


def test_find_in_national_form_needs_the_default_region(member_client, upstream, settings):
    contact = complete()[2]
    typed, region = national(contact["phone_number"])
    url = reverse("contact_find", args=["org-tejo"])

    with_region(settings, "org-tejo", "")  # the tests' org-tejo has one (BR)
    response = member_client.get(url, {"q": typed})
    assert response.status_code == 400
    assert "without its country code" in response.content.decode()

    with_region(settings, "org-tejo", region)
    response = member_client.get(url, {"q": typed})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{contact['id']}/")


def test_find_without_exact_match_shows_the_partial_matches(member_client, upstream):
    contact = complete()[3]
    partial = contact["email"].split("@")[0] + "@"  # not an email: the domain is missing
    url = reverse("contact_find", args=["org-tejo"])
    assert member_client.get(url, {"q": partial}).status_code == 400

    typo = contact["email"][1:]  # the first letter missed: still an email, but nobody's
    response = member_client.get(url, {"q": typo})
    assert response.status_code == 302
    assert response["Location"] == reverse("contact_list", args=["org-tejo"]) + (
        "?email=" + typo.replace("@", "%40")
    )
    page = member_client.get(response["Location"]).content.decode()
    assert "No contact has exactly" in page
    assert contact["id"] in page  # its email contains what was typed: a partial match

    response = member_client.get(url, {"q": UNKNOWN_ID}, follow=True)
    assert "No contact has the id" in response.content.decode()


def test_find_says_what_it_expected(member_client, upstream):
    url = reverse("contact_find", args=["org-tejo"])
    response = member_client.get(url, {"q": "Ana Pérez"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not an email, a phone number or a contact id" in page
    assert 'value="Ana Pérez"' in page  # the box keeps what was typed
    assert member_client.get(url).status_code == 400


def test_every_organisation_page_has_the_quick_find_box(member_client, upstream):
    contact = complete()[0]
    for url in (
        reverse("contact_list", args=["org-tejo"]),
        reverse("contact_detail", args=["org-tejo", contact["id"]]),
        lookup_url(),
    ):
        page = member_client.get(url).content.decode()
        assert 'action="/orgs/org-tejo/contacts/find/"' in page, url
        assert "Email, phone or contact id" in page


# --- bulk lookup: statuses ---------------------------------------------------------------------


def test_every_status_in_input_order(member_client, upstream):
    a, b, c = complete(count=3)
    lines = [
        a["email"],
        spaced(b["phone_number"]),
        UNKNOWN_EMAIL,
        "not an identifier",
        c["id"],
        a["email"].upper(),  # a repeat, typed differently
        "",  # blank lines are not values
        UNKNOWN_EMAIL,  # a repeat of a miss
    ]
    response = member_client.post(
        lookup_url(), {"identifiers": "\n".join(lines)}, headers={"Accept": NDJSON}
    )
    assert response.status_code == 200
    events = ndjson(response)
    assert events[0] == {"type": "start", "values": 7, "calls": 4}
    rows = [e for e in events if e["type"] == "row"]
    assert [(r["line"], r["input_type"], r["status"]) for r in rows] == [
        (1, "email", "found"),
        (2, "phone_number", "found"),
        (3, "email", "not_found"),
        (4, "invalid", "invalid"),
        (5, "id", "found"),
        (6, "email", "duplicate"),
        (8, "email", "duplicate"),  # the pasted list's line: a blank line counts
    ]
    assert [r.get("contact", {}).get("id") for r in rows] == [
        a["id"],
        b["id"],
        None,
        None,
        c["id"],
        a["id"],
        None,
    ]
    assert (rows[5]["first_line"], rows[5]["result"]) == (1, "found")
    assert (rows[6]["first_line"], rows[6]["result"]) == (3, "not_found")
    assert events[-1]["type"] == "end"
    assert events[-1]["counts"] == {"found": 3, "not_found": 1, "invalid": 1, "duplicate": 2}


def test_the_page_without_javascript_shows_the_whole_result(member_client, upstream):
    a = complete()[0]
    text = f"{a['email']}\n{UNKNOWN_EMAIL}\nhello"
    response = member_client.post(lookup_url(), {"identifiers": text})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Values looked up: 3." in page
    assert reverse("contact_detail", args=["org-tejo", a["id"]]) in page
    assert "Not found" in page and "Not recognised" in page


def test_failed_values_after_retries(member_client, faulty, settings):
    settings.CONTACTSHIP_RETRIES = 1
    faulty(Faults(status=503))
    a, b = complete(count=2)
    text = f"{a['email']}\n{b['email']}\nhello"
    response = member_client.post(file_url("csv"), {"identifiers": text})
    assert response.status_code == 200
    rows = read_csv(response)
    assert [(r["input"], r["status"]) for r in rows] == [
        (a["email"], "failed"),
        (b["email"], "failed"),
        ("hello", "invalid"),
    ]
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.LOOKUP)
    assert event.filters["failed"] == 2


def test_phone_numbers_with_and_without_a_default_region(member_client, upstream, settings):
    contacts = complete(count=3, skip=5)
    typed = [national(c["phone_number"]) for c in contacts]
    text = "\n".join(t for t, _ in typed)
    with_region(settings, "org-tejo", "")  # the tests' org-tejo has one (BR)
    response = member_client.post(file_url("csv"), {"identifiers": text})
    assert {r["status"] for r in read_csv(response)} == {"invalid"}

    region = typed[0][1]
    with_region(settings, "org-tejo", region)
    response = member_client.post(file_url("csv"), {"identifiers": text})
    rows = read_csv(response)
    for row, contact, (_typed, contact_region) in zip(rows, contacts, typed, strict=True):
        if contact_region == region:
            assert (row["input_type"], row["status"], row["id"]) == (
                "phone_number",
                "found",
                contact["id"],
            )
        else:
            # A national number of another country is read as one of the default region's.
            assert row["status"] in ("not_found", "invalid")
    assert rows[0]["status"] == "found"


# --- bulk lookup: files ------------------------------------------------------------------------


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def csv_result(member_client, name, data, column=""):
    response = member_client.post(file_url("csv"), {"file": upload(name, data), "column": column})
    assert response.status_code == 200, response.content.decode()[:2000]
    return read_csv(response)


def test_csv_with_a_header_latin1_and_semicolons(member_client, upstream):
    a, b = complete(count=2)
    text = f"nombre;correo;teléfono\nJosé Müller;{a['email']};\nÑandú;{b['email']};\n"
    rows = csv_result(member_client, "ferias.csv", text.encode("cp1252"), column="correo")
    assert [(r["input"], r["status"], r["id"]) for r in rows] == [
        (a["email"], "found", a["id"]),
        (b["email"], "found", b["id"]),
    ]


def test_csv_with_a_byte_order_mark_and_no_header(member_client, upstream):
    a, b = complete(count=2, skip=3)
    text = f"{spaced(a['phone_number'])},x\n{b['id']},y\n"
    rows = csv_result(member_client, "list.csv", "\ufeff".encode() + text.encode(), column="1")
    assert [(r["input_type"], r["status"], r["id"]) for r in rows] == [
        ("phone_number", "found", a["id"]),
        ("id", "found", b["id"]),
    ]


def test_xlsx_with_a_header_and_a_column_letter(member_client, upstream):
    a, b = complete(count=2, skip=6)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Phone", "Email"])
    sheet.append(["A", int(a["phone_number"].lstrip("+")), a["email"]])
    sheet.append(["B", None, b["email"]])
    out = io.BytesIO()
    workbook.save(out)
    rows = csv_result(member_client, "fair.xlsx", out.getvalue(), column="C")
    assert [(r["input"], r["status"]) for r in rows] == [
        (a["email"], "found"),
        (b["email"], "found"),
    ]
    rows = csv_result(member_client, "fair.xlsx", out.getvalue(), column="email")
    assert [r["id"] for r in rows] == [a["id"], b["id"]]


def test_lines_are_the_spreadsheets_rows(member_client, upstream):
    a, b, c = complete(count=3)
    # A CSV with a header row and an empty row: the values are rows 2 and 4.
    text = f"email\n{a['email']}\n\n{b['email']}\n"
    rows = csv_result(member_client, "fair.csv", text.encode())
    assert [(r["line"], r["input"]) for r in rows] == [("2", a["email"]), ("4", b["email"])]
    # A workbook whose rows skip from 2 to 5, as Excel writes one with empty rows; a repeat
    # names the row it repeats.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Email"])
    sheet.append([c["email"]])
    sheet.cell(row=5, column=1, value=c["email"].upper())
    out = io.BytesIO()
    workbook.save(out)
    rows = csv_result(member_client, "fair.xlsx", out.getvalue())
    assert [(r["line"], r["status"], r["reason"]) for r in rows] == [
        ("2", "found", ""),
        ("5", "duplicate", "Repeats line 2"),
    ]


@pytest.mark.parametrize(
    "name, data, column, message",
    [
        ("a.csv", b"email\nana@example.com\n", "phone", "has no column “phone”"),
        ("a.csv", b"ana@example.com,x\n", "7", "it has no header row, and 2 column(s)"),
        ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "", "neither a CSV"),
        ("a.xlsx", b"PK\x03\x04" + bytes(100), "", "neither a CSV"),
        ("a.xls", b"\xd0\xcf\x11\xe0" + bytes(100), "", "old Excel file"),
        ("a.csv", b"email\n\n", "", "of a.csv has no values (2 rows read)"),
        # A cell past csv's field limit (131,072 characters): where, in the person's words.
        (
            "a.csv",
            b"email,notes\nana@example.com,ok\nbea@example.com," + b"x" * 140_000 + b"\n",
            "email",
            "a.csv could not be read as CSV at line 3. Save it again as CSV",
        ),
    ],
)
def test_bad_files_get_a_message_on_the_form(
    member_client, faulty, fault_server, name, data, column, message
):
    faulty(Faults())
    response = member_client.post(lookup_url(), {"file": upload(name, data), "column": column})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="lookup-form"' in page
    assert fault_server.requests_seen == 0


def test_a_20_mb_file_is_refused_with_a_message(member_client, faulty, fault_server):
    faulty(Faults())
    big = b"email\n" + b"someone@example.com\n" * (20 * 1024 * 1024 // 20)
    response = member_client.post(
        file_url("csv"), {"file": upload("big.csv", big), "column": "email"}
    )
    assert response.status_code == 413
    assert "a lookup reads files of up to 10 MB" in response.content.decode()
    assert fault_server.requests_seen == 0


def test_an_empty_list_or_both_inputs_are_refused_keeping_the_text(member_client, upstream):
    response = member_client.post(lookup_url(), {"identifiers": "  \n \n"})
    assert response.status_code == 400
    assert "The list is empty" in response.content.decode()

    response = member_client.post(
        lookup_url(), {"identifiers": "ana@example.com", "file": upload("a.csv", b"x@y.com\n")}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "not both" in page
    assert "ana@example.com</textarea>" in page  # nothing typed is lost


# --- limits, cancellation, concurrency ---------------------------------------------------------


def test_more_than_5000_values_are_refused_before_any_call(member_client, faulty, fault_server):
    faulty(Faults())
    text = "\n".join(f"person{n}@example.com" for n in range(5001))
    for url in (lookup_url(), *map(file_url, FILES)):
        response = member_client.post(url, {"identifiers": text})
        assert response.status_code == 400
        assert "more than 5,000 values" in response.content.decode()
    data = ("email\n" + text).encode()
    response = member_client.post(lookup_url(), {"file": upload("big.csv", data)})
    assert response.status_code == 400
    assert fault_server.requests_seen == 0


def test_the_limit_is_a_setting(member_client, upstream, settings):
    settings.DASHBOARD_LOOKUP_MAX = 2
    a, b, c = complete(count=3)
    text = f"{a['email']}\n{b['email']}"
    assert member_client.post(lookup_url(), {"identifiers": text}).status_code == 200
    response = member_client.post(lookup_url(), {"identifiers": text + f"\n{c['email']}"})
    assert response.status_code == 400


# Closing a streamed response ends the request, which closes the database connection.
@pytest.mark.django_db(transaction=True)
def test_cancelling_stops_the_calls(member_client, faulty, fault_server, settings):
    settings.CONTACTSHIP_DEADLINE = 10
    faulty(Faults(latency_ms=100))
    text = "\n".join(f"person{n}@example.com" for n in range(300))
    response = member_client.post(lookup_url(), {"identifiers": text}, headers={"Accept": NDJSON})
    chunks = iter(response.streaming_content)
    for _ in range(4):
        next(chunks)  # the start and three rows
    response.close()  # what the server does when the browser goes away
    time.sleep(0.5)  # calls already in flight may end
    seen = fault_server.requests_seen
    time.sleep(0.5)
    assert fault_server.requests_seen == seen < 100
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.LOOKUP)
    assert event.outcome == AuditEvent.Outcome.CANCELLED
    assert 3 <= event.filters["done"] < 300


def test_closing_a_lookup_ends_its_threads(faulty, fault_server):
    faulty(Faults(latency_ms=50))
    identifiers = [identifier_parse(f"p{n}@example.com") for n in range(200)]
    lookups = contact_lookup(organisation=organisation_get("org-tejo"), identifiers=identifiers)
    rows = [next(lookups) for _ in range(5)]
    assert [r.line for r in rows] == [1, 2, 3, 4, 5]
    assert lookups.threads_alive > 0
    lookups.close()
    assert lookups.threads_alive == 0
    seen = fault_server.requests_seen
    time.sleep(0.3)
    assert fault_server.requests_seen == seen < 200


def test_lookups_run_concurrently_within_the_organisations_limit(faulty, fault_server, settings):
    settings.CONTACTSHIP_MAX_CONCURRENT_CALLS = 5
    settings.CONTACTSHIP_RESERVED_CALLS = 2
    faulty(Faults(latency_ms=30))
    identifiers = [identifier_parse(f"p{n}@example.com") for n in range(80)]
    with contact_lookup(
        organisation=organisation_get("org-tejo"), identifiers=identifiers
    ) as lookups:
        rows = list(lookups)
    assert [r.status for r in rows] == ["not_found"] * 80
    stats = fault_server.stats()
    assert stats["requests"] == 80
    assert 2 <= stats["peak_in_flight"] <= 3  # the organisation's 5 less the 2 kept for pages
    assert lookups.progress.in_flight_peak == 3


def test_rate_limits_are_waited_out(member_client, faulty, fault_server):
    faulty(Faults(rate_limit_retry_after=0, rate_limit_count=3))
    a, b = complete(count=2)
    response = member_client.post(file_url("csv"), {"identifiers": f"{a['email']}\n{b['email']}"})
    assert [r["status"] for r in read_csv(response)] == ["found", "found"]
    assert fault_server.requests_seen >= 5


# --- files out, audit, access ------------------------------------------------------------------


def test_csv_result_columns_and_spreadsheet_safety(member_client, upstream):
    a = complete()[0]
    text = f'=HYPERLINK("http://x")\n{a["email"]}\n\uff1dHYPERLINK("http://x")'
    response = member_client.post(file_url("csv"), {"identifiers": text})
    assert response["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    assert list(rows[0])[:13] == [
        "line",
        "input",
        "input_type",
        "status",
        "reason",
        "id",
        "created_at",
        "full_name",
        "email",
        "phone_number",
        "country",
        "description",
        "organization_id",
    ]
    assert rows[0]["input"] == '\'=HYPERLINK("http://x")'
    assert (rows[0]["input_type"], rows[0]["status"], rows[0]["id"]) == ("invalid", "invalid", "")
    assert rows[0]["reason"] == "Not an email, a phone number or a contact id"
    assert [r["line"] for r in rows] == ["1", "2", "3"]
    assert (rows[1]["email"], rows[1]["created_at"]) == (a["email"], a["created_at"])
    assert rows[2]["input"] == '\'\uff1dHYPERLINK("http://x")'


def test_xlsx_result(member_client, upstream):
    a = complete()[0]
    formula = '=HYPERLINK("http://x")'
    response = member_client.post(
        file_url("xlsx"),
        {"identifiers": f"{a['email']}\n{UNKNOWN_EMAIL}\n{formula}"},
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("line", "input", "input_type", "status", "reason", "id", "created_at")
    assert rows[1][:6] == (1, a["email"], "email", "found", None, a["id"])
    assert isinstance(rows[1][6], datetime)  # a date, as in exports
    assert rows[2][:6] == (2, UNKNOWN_EMAIL, "email", "not_found", None, None)
    # Exactly what was given, as a text cell that never runs.
    assert rows[3][:5] == (
        3,
        formula,
        "invalid",
        "invalid",
        "Not an email, a phone number or a contact id",
    )
    assert sheet.cell(row=4, column=2).data_type == "s"


def test_every_lookup_is_audited_without_the_values(member_client, upstream):
    a = complete()[0]
    text = f"{a['email']}\n{UNKNOWN_EMAIL}\nhello"
    member_client.post(lookup_url(), {"identifiers": text})
    b"".join(member_client.post(file_url("csv"), {"identifiers": text}))
    events = list(AuditEvent.objects.filter(kind=AuditEvent.Kind.LOOKUP).order_by("at"))
    assert [e.export_format for e in events] == ["", "csv"]
    for event in events:
        assert event.username == "ana"
        assert event.organisation_id == "org-tejo"
        assert event.outcome == AuditEvent.Outcome.COMPLETED
        assert event.rows == 3
        assert event.filters == {
            "values": 3,
            "done": 3,
            "found": 1,
            "not_found": 1,
            "invalid": 1,
        }
        flat = json.dumps([str(v) for v in event.__dict__.values()])
        assert a["email"] not in flat and UNKNOWN_EMAIL not in flat and "hello" not in flat


def test_log_lines_name_no_email_or_phone(member_client, upstream, caplog):
    a = complete()[0]
    caplog.set_level(logging.INFO)
    text = f"{a['email']}\n{spaced(a['phone_number'])}"
    member_client.post(lookup_url(), {"identifiers": text})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/contacts/<email>" in logged and "/contacts/<phone_number>" in logged
    assert a["email"] not in logged and a["phone_number"] not in logged


def test_organisations_are_isolated(client, upstream, django_user_model):
    tejo = complete("org-tejo")[0]
    user = make_user(django_user_model, "bea", {"org-harbor": False})
    client.force_login(user)
    # org-harbor's key cannot see org-tejo's contacts.
    response = client.post(
        lookup_url(org_id="org-harbor"), {"identifiers": tejo["email"]}, headers={"Accept": NDJSON}
    )
    rows = [e for e in ndjson(response) if e["type"] == "row"]
    assert [r["status"] for r in rows] == ["not_found"]
    find = client.get(reverse("contact_find", args=["org-harbor"]), {"q": tejo["id"]})
    assert find["Location"] == reverse("contact_list", args=["org-harbor"])
    # Not a member of org-tejo; no export right in org-harbor.
    assert client.get(lookup_url(org_id="org-tejo")).status_code == 403
    assert client.post(lookup_url(org_id="org-tejo"), {"identifiers": "x"}).status_code == 403
    assert client.get(reverse("contact_find", args=["org-tejo"]), {"q": "x"}).status_code == 403
    for fmt in FILES:
        response = client.post(file_url(fmt, "org-harbor"), {"identifiers": tejo["email"]})
        assert response.status_code == 403


def test_anonymous_users_go_to_the_login_page(client, upstream):
    for url in (lookup_url(), file_url("csv"), lookup_url("contact_find")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_opening_the_file_address_leads_to_the_form(member_client, upstream):
    response = member_client.get(file_url("csv"))
    assert (response.status_code, response["Location"]) == (302, lookup_url())


# Closing a streamed response ends the request, which closes the database connection.
@pytest.mark.django_db(transaction=True)
def test_a_key_rejected_midway_cuts_the_file_rather_than_end_it_cleanly(
    member_client, faulty, fault_server
):
    from contacts.upstream.errors import UpstreamAuthError

    faulty(Faults(latency_ms=20))
    text = "\n".join(f"person{n}@example.com" for n in range(400))
    response = member_client.post(file_url("csv"), {"identifiers": text})
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert first.startswith(b"\xef\xbb\xbfline,input,input_type,status,reason,id,")
    faulty(Faults(status=401))  # the key is revoked while the lookup runs
    with pytest.raises(UpstreamAuthError):
        for _ in chunks:
            pass
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.LOOKUP)
    assert (event.outcome, event.error) == (AuditEvent.Outcome.FAILED, "UpstreamAuthError")


def test_a_rejected_key_before_the_first_row_is_an_error_page(member_client, faulty):
    faulty(Faults(status=401))
    response = member_client.post(file_url("csv"), {"identifiers": "ana@example.com"})
    assert response.status_code == 502
    assert "Contactship rejected this organisation" in response.content.decode()


# Closing a streamed response ends the request, which closes the database connection.
@pytest.mark.django_db(transaction=True)
def test_a_page_lookup_has_places_of_its_own_and_a_lookup_file_is_an_export(
    member_client, faulty, settings
):
    settings.DASHBOARD_EXPORTS_PER_USER = 1
    settings.DASHBOARD_LOOKUPS_PER_USER = 1
    faulty(Faults(latency_ms=20))
    text = "\n".join(f"person{n}@example.com" for n in range(300))
    running = member_client.post(lookup_url(), {"identifiers": text}, headers={"Accept": NDJSON})
    assert running.status_code == 200
    # A second page lookup is refused, saying why...
    refused = member_client.post(
        lookup_url(), {"identifiers": "a@b.com"}, headers={"Accept": NDJSON}
    )
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert "Bulk lookups of yours running now: 1." in refused.content.decode()
    # ...but the page lookup takes no export place: the one export allowed starts.
    export = member_client.post(file_url("csv"), {"identifiers": "a@b.com"})
    assert export.status_code == 200
    refused = member_client.post(file_url("csv"), {"identifiers": "a@b.com"})
    assert refused.status_code == 429  # a lookup file is an export
    b"".join(export.streaming_content)
    running.close()  # the first one ends: its place is given back
    again = member_client.post(lookup_url(), {"identifiers": "a@b.com"}, headers={"Accept": NDJSON})
    assert again.status_code == 200
    b"".join(again.streaming_content)


@pytest.mark.django_db(transaction=True)
def test_a_file_dropped_before_its_first_byte_ends_the_lookups(member_client, faulty, fault_server):
    faulty(Faults(latency_ms=50))
    text = "\n".join(f"person{n}@example.com" for n in range(300))
    response = member_client.post(file_url("csv"), {"identifiers": text})
    assert response.status_code == 200
    response.close()  # the browser went away before the first byte
    time.sleep(0.3)
    seen = fault_server.requests_seen
    time.sleep(0.5)
    assert fault_server.requests_seen == seen < 300
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.LOOKUP)
    assert event.outcome == AuditEvent.Outcome.CANCELLED


# --- the circuit breaker's half-open trial -----------------------------------------------------


def open_the_circuit(member_client, faulty, settings) -> None:
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 2
    settings.CONTACTSHIP_BREAKER_COOLDOWN = 0.3
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(status=500))
    for _ in range(2):
        member_client.get(reverse("contact_list", args=["org-tejo"]))
    page = member_client.get(reverse("contact_list", args=["org-tejo"]))
    assert b"giving it a short rest" in page.content


def lookup_rows(values: list[str]) -> list:
    identifiers = [identifier_parse(value) for value in values]
    with contact_lookup(
        organisation=organisation_get("org-tejo"), identifiers=identifiers
    ) as lookups:
        return list(lookups)


def test_after_the_cooldown_a_lookup_makes_the_trial_call_and_closes_the_circuit(
    member_client, faulty, fault_server, settings
):
    open_the_circuit(member_client, faulty, settings)
    faulty(Faults())  # Contactship is well again
    time.sleep(0.35)  # the cool-down is over: the circuit is half-open
    people = complete(count=3)
    rows = lookup_rows([p["email"] for p in people])
    assert [(r.status, r.contact.id) for r in rows] == [("found", p["id"]) for p in people]
    assert fault_server.requests_seen == 3  # the trial, then the others once it succeeded
    # The trial closed the circuit: a search goes through at once, not after the trial's claim
    # runs out.
    assert member_client.get(reverse("contact_list", args=["org-tejo"])).status_code == 200


def test_a_failed_trial_of_a_lookup_is_one_call_and_the_circuit_opens_again(
    member_client, faulty, fault_server, settings
):
    open_the_circuit(member_client, faulty, settings)
    fault_server.faults = Faults(status=500)  # still failing; counting from here
    time.sleep(0.35)
    rows = lookup_rows([p["email"] for p in complete(count=3)])
    assert [(r.status, r.error, r.asked) for r in rows] == [
        ("failed", "UpstreamUnavailable", True),  # the trial: made, failed, not tried again
        ("failed", "UpstreamUnavailable", False),  # the lookup stopped there
        ("failed", "UpstreamUnavailable", False),
    ]
    assert fault_server.requests_seen == 1
    page = member_client.get(reverse("contact_list", args=["org-tejo"]))
    assert b"giving it a short rest" in page.content


def test_a_lookup_while_the_circuit_is_open_is_refused_before_any_call(
    member_client, faulty, fault_server, settings
):
    open_the_circuit(member_client, faulty, settings)
    fault_server.faults = Faults()
    with pytest.raises(CircuitOpen):
        lookup_rows([p["email"] for p in complete(count=2)])
    assert fault_server.requests_seen == 0
