"""The request id: taken from X-Request-ID when valid, else new; sent back, sent to Contactship
on every call of the request (those made by the scan's threads while a streamed export is read
too), on each log line and in the audit event."""

import logging
import re

import pytest
from django.urls import reverse

from contacts.demo.faults import Faults
from contacts.log import REQUEST_ID, RequestIdFilter, request_id_from
from contacts.models import AuditEvent
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "sent", ["abc-123", "A.b_C-9", "x" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"]
)
def test_a_valid_request_id_is_kept_and_sent_back(client, sent):
    response = client.get(reverse("login"), headers={"X-Request-ID": sent})
    assert response["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent", ["", "x" * 65, "has space", "semi;colon", "ñandú", "a/b", "<script>", "a\tb"]
)
def test_a_malformed_request_id_is_replaced_by_a_new_one(client, sent):
    response = client.get(reverse("login"), headers={"X-Request-ID": sent})
    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_without_one_each_request_gets_its_own(client):
    first = client.get(reverse("login"))["X-Request-ID"]
    second = client.get(reverse("login"))["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second


def test_request_id_from():
    assert request_id_from("ok.id_1-2") == "ok.id_1-2"
    assert request_id_from(None) != request_id_from(None)
    assert HEX_ID.fullmatch(request_id_from("bad id"))


def test_the_audit_event_keeps_the_request_id(client, member):
    client.post(
        reverse("login"),
        {"username": "ana", "password": PASSWORD},
        headers={"X-Request-ID": "login-req-1"},
    )
    event = AuditEvent.objects.get(kind="login")
    assert event.request_id == "login-req-1"


def test_outside_a_request_the_audit_event_has_none(member):
    from contacts.audit import audit

    audit(AuditEvent.Kind.LOGIN, None, user=member)
    assert AuditEvent.objects.get().request_id == ""


def test_log_lines_of_the_request_carry_its_id_and_the_request_line_ends_it(
    member_client, upstream, caplog
):
    caplog.set_level(logging.INFO)
    url = reverse("contact_list", args=["org-tejo"]) + "?full_name=ana"
    member_client.get(url, headers={"X-Request-ID": "search-req-7"})
    for record in caplog.records:
        RequestIdFilter().filter(record)
    upstream_records = [r for r in caplog.records if hasattr(r, "upstream")]
    assert upstream_records and {r.request_id for r in upstream_records} == {"search-req-7"}
    [line] = [r for r in caplog.records if r.name == "contacts.request"]
    assert line.request_id == "search-req-7"
    assert (line.method, line.path, line.status) == ("GET", url.split("?")[0], 200)
    assert line.organisation == "org-tejo" and line.user_id is not None
    assert line.duration_ms >= 0
    assert "ana" not in line.getMessage()
    # The request is over: what is logged next belongs to no request.
    assert REQUEST_ID.get() is None


def test_every_call_of_a_streamed_export_sends_the_request_id(member_client, faulty, capsys):
    server = faulty(Faults())
    server.verbose = True
    try:
        capsys.readouterr()
        response = member_client.get(
            reverse("contact_export", args=["org-tejo", "csv"]),
            headers={"X-Request-ID": "export-req-3"},
        )
        assert response.streaming
        # Read to its end, the test client closes it (with the database connection kept for
        # the test's transaction; a second close would hand it back to the pool).
        body = b"".join(response.streaming_content)
    finally:
        server.verbose = False
    assert body.count(b"\r\n") > 200  # several pages: read by the scan's threads
    calls = [line for line in capsys.readouterr().err.splitlines() if "/v1/contacts" in line]
    assert len(calls) >= 3
    assert all(line.endswith("request_id=export-req-3") for line in calls), calls
    event = AuditEvent.objects.get(kind="export")
    assert event.request_id == "export-req-3"
