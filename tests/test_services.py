"""Exports end to end through the service, and the audit event each one leaves."""

import io

import pytest
from django.urls import reverse

from contacts.demo.data import contacts_for, matches
from contacts.demo.faults import Faults
from contacts.models import AuditEvent
from contacts.upstream.errors import UpstreamUnavailable
from tests.support import csv_rows

pytestmark = pytest.mark.django_db


def csv_ids(raw: bytes) -> list[str]:
    return [r[0] for r in csv_rows(raw)[1:]]


def test_a_completed_web_export_is_audited_without_contact_data(member_client, upstream):
    url = reverse("contact_export", args=["org-tejo", "csv"]) + "?full_name=ana"
    raw = b"".join(member_client.get(url).streaming_content)
    (event,) = AuditEvent.objects.filter(kind="export")
    assert event.kind == "export" and event.outcome == "completed"
    assert event.username == "ana" and event.user.username == "ana"
    assert event.organisation_id == "org-tejo"
    assert event.filters == {"full_name": "ana"}
    assert event.export_format == "csv" and event.source == "web"
    assert event.rows == len(matches("org-tejo", full_name="ana"))
    assert event.bytes == len(raw)
    assert event.duration_ms is not None and event.error == ""
    stored = " ".join(str(v) for v in AuditEvent.objects.values().filter(kind="export")[0].values())
    assert contacts_for("org-tejo")[0]["email"] not in stored


def test_an_export_that_fails_before_starting_is_audited(member_client, faulty):
    faulty(Faults(status=500))
    response = member_client.get(reverse("contact_export", args=["org-harbor", "csv"]))
    assert response.status_code == 503
    event = AuditEvent.objects.get(kind="export")
    assert (event.outcome, event.rows, event.error) == ("failed", 0, "UpstreamUnavailable")


def test_an_export_that_fails_midway_is_audited_as_failed(member_client, faulty):
    faulty(Faults(fail_from_offset=100))
    response = member_client.get(reverse("contact_export", args=["org-harbor", "csv"]))
    with pytest.raises(UpstreamUnavailable):
        b"".join(response.streaming_content)
    event = AuditEvent.objects.get(kind="export")
    assert (event.outcome, event.rows) == ("failed", 100)
    assert event.bytes > 0


# transaction=True: closing the response ends the request, and Django then closes a database
# connection found inside a transaction, as the test's own would be.
@pytest.mark.django_db(transaction=True)
def test_an_export_the_client_abandons_is_audited_as_cancelled(member_client, upstream):
    response = member_client.get(reverse("contact_export", args=["org-tejo", "csv"]))
    chunks = iter(response.streaming_content)
    next(chunks)
    response.close()  # what the WSGI server does when the browser goes away
    event = AuditEvent.objects.get(kind="export")
    assert event.outcome == "cancelled"
    assert 0 < event.rows < len(contacts_for("org-tejo"))


def test_a_result_that_is_an_exact_multiple_of_the_page_size(member_client, upstream, settings):
    expected = [c["id"] for c in matches("org-harbor", full_name="a")]
    n = len(expected)
    settings.CONTACTSHIP_PAGE_SIZE = max(d for d in range(2, 101) if n % d == 0 and n // d >= 2)
    url = reverse("contact_export", args=["org-harbor", "csv"]) + "?full_name=a"
    assert csv_ids(b"".join(member_client.get(url).streaming_content)) == expected


def test_plain_utf8_csv_on_request(member_client, upstream):
    url = reverse("contact_export", args=["org-harbor", "csv"]) + "?bom=0"
    raw = b"".join(member_client.get(url).streaming_content)
    assert raw.startswith(b"id,created_at,")


def test_the_xlsx_export_holds_the_same_rows(member_client, upstream):
    import openpyxl

    url = reverse("contact_export", args=["org-tejo", "xlsx"]) + "?full_name=ana"
    response = member_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == [c["id"] for c in matches("org-tejo", full_name="ana")]
    assert AuditEvent.objects.get(kind="export").export_format == "xlsx"


def test_the_excel_button_is_only_for_members_with_the_export_right(member_client, upstream):
    page = member_client.get(reverse("contact_list", args=["org-tejo"]) + "?email=gmail")
    assert 'href="/orgs/org-tejo/contacts/export.xlsx?email=gmail"' in page.content.decode()


def test_an_export_is_recorded_when_it_starts_with_the_path_and_the_real_address(
    member_client, upstream, settings
):
    settings.DASHBOARD_TRUSTED_PROXIES = ["10.0.0.5"]
    url = reverse("contact_export", args=["org-tejo", "csv"])
    response = member_client.get(
        url + "?full_name=a", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.20"
    )
    # Before a byte of the file is sent: the record is there, as started.
    (event,) = AuditEvent.objects.filter(kind="export")
    assert event.outcome == "started"
    assert (event.path, event.ip_address) == (url, "198.51.100.20")
    assert event.shown_outcome == "started"
    b"".join(response.streaming_content)
    event.refresh_from_db()
    assert event.outcome == "completed"
    assert (event.path, event.ip_address) == (url, "198.51.100.20")
    assert AuditEvent.objects.filter(kind="export").count() == 1


def test_a_running_export_refreshes_its_record_and_a_silent_one_is_shown_interrupted(
    member_client, upstream, monkeypatch, admin_client
):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.exports import record as records

    monkeypatch.setattr(records, "EXPORT_HEARTBEAT", timedelta(0))
    response = member_client.get(reverse("contact_export", args=["org-tejo", "csv"]))
    chunks = iter(response.streaming_content)
    for _ in range(5):
        next(chunks)
    event = AuditEvent.objects.get(kind="export")
    assert event.outcome == "started" and event.rows > 0 and event.bytes > 0
    # Its process dies here: nothing ends the record. Once silent long enough, it shows so.
    AuditEvent.objects.filter(pk=event.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5), at=timezone.now() - timedelta(minutes=6)
    )
    event.refresh_from_db()
    assert event.shown_outcome == "interrupted"
    page = admin_client.get(reverse("admin:contacts_auditevent_changelist"))
    assert "interrupted" in page.content.decode()
    response.close()  # this process lives on: the server closes the response, as it always does


def test_an_xlsx_export_beats_while_it_builds_the_workbook(member_client, upstream, monkeypatch):
    from datetime import timedelta

    from contacts.exports import record as records

    beats = []
    real = records.DownloadRecord.beat
    monkeypatch.setattr(records, "EXPORT_HEARTBEAT", timedelta(0))
    monkeypatch.setattr(records.DownloadRecord, "beat", lambda self: beats.append(1) or real(self))
    response = member_client.get(reverse("contact_export", args=["org-tejo", "xlsx"]))
    chunks = iter(response.streaming_content)
    next(chunks)  # the workbook is complete before its first byte
    assert len(beats) >= len(contacts_for("org-tejo")) // 100  # one per page at least
    b"".join(chunks)
    assert AuditEvent.objects.get(kind="export").outcome == "completed"


def test_the_xlsx_holds_the_upstreams_values_typed_never_an_added_apostrophe(
    member_client, upstream
):
    """Tejo Comercial's whole export read back: each text cell is exactly the API's text (its
    formula-looking notes included), numbers and yes/no values are typed, no cell is a formula."""
    import openpyxl

    url = reverse("contact_export", args=["org-tejo", "xlsx"])
    raw = b"".join(member_client.get(url).streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    rows = sheet.iter_rows()
    header = [c.value for c in next(rows)]
    expected = {c["id"]: c for c in contacts_for("org-tejo")}
    formula_like = numbers = booleans = 0
    for line in rows:
        cells = dict(zip(header, line, strict=True))
        for cell in line:
            assert cell.data_type != "f", cell.coordinate
        upstream_contact = expected.pop(cells["id"].value)
        for name in ("full_name", "email", "phone_number", "country", "description"):
            cell = cells[name]
            assert cell.value == (upstream_contact.get(name) or None), (name, cell.coordinate)
            if cell.value:
                assert cell.data_type == "s"
                formula_like += cell.value[0] in "=+-@" and name != "phone_number"
        data = {}
        for entry in upstream_contact.get("additional_data") or []:
            data.setdefault(entry["field"], []).append(entry["value"])
        for name, found in data.items():
            if name not in cells or len(found) != 1:
                continue
            value = cells[name].value
            assert value == found[0], (name, cells[name].coordinate)
            assert type(value) is type(found[0]) or isinstance(found[0], int | float)
            numbers += isinstance(value, int | float) and not isinstance(value, bool)
            booleans += isinstance(value, bool)
            if isinstance(value, str) and value.startswith("'"):
                assert found[0].startswith("'")  # the upstream's own apostrophe, not one added
    assert not expected  # every contact, once
    assert formula_like and numbers and booleans  # the data holds each case


@pytest.mark.django_db(transaction=True)
def test_a_download_dropped_before_its_first_byte_ends_its_scan_and_is_cancelled(
    member_client, upstream
):
    import threading

    from contacts.upstream.pool import THREAD_NAME

    def scan_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith(THREAD_NAME)}

    before = scan_threads()
    response = member_client.get(reverse("contact_export", args=["org-tejo", "csv"]))
    response.close()  # the browser went away before the server sent a byte
    assert {t for t in scan_threads() - before if t.is_alive()} == set()
    assert AuditEvent.objects.get(kind="export").outcome == "cancelled"
