"""Holding under abuse: what one member or one bad answer must not be able to do.

Through the in-thread demo API (`faulty`), which records the raw request targets it receives.
"""

import csv
import gzip
import io
import logging
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from django.urls import reverse
from openpyxl import load_workbook

from contacts.contact.query import ContactQuery
from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.demo.handler import ODD_TIMESTAMPS
from contacts.upstream.attempt import redact
from contacts.upstream.client import contactship_client
from contacts.upstream.decode import contact_from_json
from contacts.upstream.errors import UpstreamBadResponse, UpstreamNotFound
from contacts.upstream.organisations import organisation_get
from tests.conftest import KEYS, ORGANISATIONS

pytestmark = pytest.mark.django_db

ORG = "org-harbor"
FAKE_URL = "https://contactship.test/v1"
JSON = "application/json"
CONTACT_ID = contacts_for(ORG)[0]["id"]

# id → the exact target the upstream must receive: always one segment under /contacts/.
ODD_IDS = {
    ".": "/v1/contacts/%2E?identifierType=id",
    "..": "/v1/contacts/%2E%2E?identifierType=id",
    "%2E": "/v1/contacts/%252E?identifierType=id",
    "a/b": "/v1/contacts/a%2Fb?identifierType=id",
    "?x": "/v1/contacts/%3Fx?identifierType=id",
    "#x": "/v1/contacts/%23x?identifierType=id",
    "https://evil.example/x": "/v1/contacts/https%3A%2F%2Fevil%2Eexample%2Fx?identifierType=id",
    "../../v1/contacts": "/v1/contacts/%2E%2E%2F%2E%2E%2Fv1%2Fcontacts?identifierType=id",
}


# --- 1. odd contact ids -------------------------------------------------------------------------


@pytest.mark.parametrize("contact_id", list(ODD_IDS))
def test_the_client_keeps_any_id_one_path_segment(faulty, contact_id):
    server = faulty(Faults())
    with pytest.raises(UpstreamNotFound):
        contactship_client().contact_get(organisation=organisation_get(ORG), contact_id=contact_id)
    assert list(server.paths_seen) == [ODD_IDS[contact_id]]


def test_a_plain_id_still_reaches_its_contact(faulty):
    server = faulty(Faults())
    contact = contactship_client().contact_get(
        organisation=organisation_get(ORG), contact_id=CONTACT_ID
    )
    assert contact.id == CONTACT_ID
    assert list(server.paths_seen) == [f"/v1/contacts/{CONTACT_ID}?identifierType=id"]


# Paths as a browser or `curl --path-as-is` sends them.
ODD_PATHS = [
    f"/orgs/{ORG}/contacts/./",
    f"/orgs/{ORG}/contacts/../",
    f"/orgs/{ORG}/contacts/%2E/",
    f"/orgs/{ORG}/contacts/%2E%2E/",
    f"/orgs/{ORG}/contacts/%252E/",
    f"/orgs/{ORG}/contacts/a%2Fb/",
    f"/orgs/{ORG}/contacts/%3Fx/",
    f"/orgs/{ORG}/contacts/%23x/",
    f"/orgs/{ORG}/contacts/http:%2F%2Fevil.example/",
    f"/orgs/{ORG}/contacts/.%20/",
]


def test_odd_contact_paths_are_404_without_a_call_and_leave_the_search_working(
    faulty, member_client
):
    server = faulty(Faults())
    for path in ODD_PATHS:
        response = member_client.get(path)
        assert response.status_code == 404, path
    assert list(server.paths_seen) == []
    search = member_client.get(reverse("contact_list", args=[ORG]), {"full_name": "a"})
    assert search.status_code == 200


def test_malformed_contact_answers_do_not_open_the_organisations_circuit(faulty, member_client):
    server = faulty(Faults(wrong_shape=True))
    detail = reverse("contact_detail", args=[ORG, CONTACT_ID])
    for _ in range(10):
        assert member_client.get(detail, {"refresh": "1"}).status_code == 502
    server.faults = Faults()
    search = member_client.get(reverse("contact_list", args=[ORG]), {"full_name": "a"})
    assert search.status_code == 200
    assert member_client.get(detail).status_code == 200


def test_a_malformed_contact_list_still_counts_against_the_circuit(faulty, member_client, settings):
    # The list endpoint answering nonsense is the upstream being unwell: the breaker opens.
    faulty(Faults(wrong_shape=True))
    search = reverse("contact_list", args=[ORG])
    for number in range(settings.CONTACTSHIP_BREAKER_THRESHOLD):
        assert member_client.get(search, {"full_name": f"x{number}"}).status_code == 502
    assert member_client.get(search, {"full_name": "y"}).status_code == 503


# --- 5. the upstream's body: bounded in time and size -------------------------------------------


def _search(member_client, **params):
    started = time.monotonic()
    response = member_client.get(reverse("contact_list", args=[ORG]), params)
    return response, time.monotonic() - started


@pytest.mark.slow
def test_a_trickling_answer_ends_at_the_deadline(faulty, member_client, settings):
    # Each byte arrives well within the read timeout; the whole body would take minutes.
    faulty(Faults(trickle_ms=50))
    response, took = _search(member_client, full_name="a")
    assert response.status_code == 504
    assert "did not answer in time" in response.content.decode()
    assert took < settings.CONTACTSHIP_DEADLINE + 2.0


def test_a_huge_answer_is_refused_and_not_cached(faulty, member_client, settings):
    settings.CONTACTSHIP_MAX_BODY_BYTES = 1024 * 1024
    server = faulty(Faults(huge_body_mb=40))
    response, took = _search(member_client, full_name="a")
    assert response.status_code == 502
    assert "does not understand" in response.content.decode()
    assert took < 5.0
    # Asked again, it is asked again: nothing was kept.
    assert _search(member_client, full_name="a")[0].status_code == 502
    assert server.requests_seen == 2


def test_an_announced_length_above_the_cap_is_refused_before_reading(
    faulty, member_client, settings
):
    settings.CONTACTSHIP_MAX_BODY_BYTES = 1000  # a page of 100 contacts is ~40 KB
    faulty(Faults())
    assert _search(member_client, full_name="a")[0].status_code == 502


def test_answers_above_the_cache_limit_are_not_cached(faulty, member_client, settings):
    server = faulty(Faults())
    settings.CONTACTSHIP_CACHE_MAX_BYTES = 1000
    assert _search(member_client, full_name="a")[0].status_code == 200
    assert _search(member_client, full_name="a")[0].status_code == 200
    assert server.requests_seen == 2
    # Small answers still are.
    settings.CONTACTSHIP_CACHE_MAX_BYTES = 10 * 1024 * 1024
    server.faults = Faults()
    _search(member_client, full_name="b")
    _search(member_client, full_name="b")
    assert server.requests_seen == 1


# --- 6. an upstream complaint never carries a key -----------------------------------------------


def test_a_complaint_echoing_the_key_is_shown_and_logged_without_it(
    settings, member_client, caplog
):
    settings.CONTACTSHIP_API_URL = FAKE_URL
    settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
    key = KEYS[ORG]
    other = "sk_live_" + secrets.token_hex(16)
    complaint = f"bad full_name; request had x-api-key: {key} (also tried {other})"
    caplog.set_level(logging.INFO)
    with responses.RequestsMock() as mock:
        mock.get(f"{FAKE_URL}/contacts", status=400, json={"error": complaint})
        response = member_client.get(reverse("contact_list", args=[ORG]), {"full_name": "a"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "bad full_name; request had x-api-key: [hidden]" in page
    for secret in (key, key[:12], other):
        assert secret not in page
        assert secret not in caplog.text


def test_redaction_keeps_ordinary_words_numbers_and_phone_numbers():
    text = "full_name must be at most 200 characters, phone +12124567890, internationalisation"
    assert redact(text, "") == text
    assert redact("key abcdefghij0123456789xyz here", "") == "key [hidden] here"


# --- 4. impossible timestamps ---------------------------------------------------------------------


def test_out_of_range_timestamps_are_empty_dates_on_every_page_and_format(faulty, member_client):
    faulty(Faults(odd_timestamps=True))
    first, second, third = contacts_for(ORG)[:3]

    search = member_client.get(reverse("contact_list", args=[ORG]))
    assert search.status_code == 200
    page = search.content.decode()
    assert first["id"] in page and second["id"] in page and third["id"] in page

    detail = member_client.get(reverse("contact_detail", args=[ORG, first["id"]]))
    assert detail.status_code == 200
    # The upstream's own text stays visible where a person reads one contact.
    assert ODD_TIMESTAMPS[0] in detail.content.decode()

    csv_response = member_client.get(reverse("contact_export", args=[ORG, "csv"]))
    assert csv_response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_response).decode("utf-8-sig"))))
    assert len(rows) == len(contacts_for(ORG))
    assert [row["created_at"] for row in rows[:3]] == ["", "", ""]
    assert rows[3]["created_at"] == contacts_for(ORG)[3]["created_at"]

    xlsx_response = member_client.get(reverse("contact_export", args=[ORG, "xlsx"]))
    assert xlsx_response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_response)), read_only=True).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(cells) == len(contacts_for(ORG))
    assert cells[:3] == [None, None, None]
    assert cells[3] is not None


def test_a_timestamp_with_an_offset_is_kept_as_its_utc_time():
    contact = contact_from_json({"id": "x", "created_at": "2024-03-05T23:30:00-05:00"})
    assert contact.created_at_iso == "2024-03-06T04:30:00Z"
    assert contact.created_at_text == ""


class _GzipApi(BaseHTTPRequestHandler):
    """Answers gzipped JSON, as an API behind a compressing proxy would: the contact named by
    `full_name`, or for `full_name=bomb` 10 MB of JSON in ~10 KB on the wire."""

    def do_GET(self):
        if "full_name=bomb" in self.path:
            raw = b"[" + b" " * (10 * 1024 * 1024) + b"]"
        else:
            raw = b'[{"id": "a", "full_name": "Ana"}]'
        body = gzip.compress(raw)
        self.send_response(200)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_compressed_answers_are_decoded_and_capped_by_their_decoded_size(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GzipApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.CONTACTSHIP_API_URL = f"http://127.0.0.1:{server.server_port}/v1"
        settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
        settings.CONTACTSHIP_MAX_BODY_BYTES = 1024 * 1024
        client = contactship_client()
        org = organisation_get(ORG)
        page = client.contact_list(organisation=org, query=ContactQuery(full_name="a"))
        assert [c.full_name for c in page] == ["Ana"]
        with pytest.raises(UpstreamBadResponse):
            client.contact_list(organisation=org, query=ContactQuery(full_name="bomb"))
    finally:
        server.shutdown()
        server.server_close()
