"""The registry of download formats: the addresses it makes, the buttons it lists, and the one
table that says how each error is shown in every medium."""

import pytest
from django.core.management import CommandError
from django.urls import reverse

from contacts import errors
from contacts.exports.formats import EXPORTS, FORMATS, LOOKUP_FILES, streamed_lookup
from contacts.upstream.errors import (
    ExportTimeLimit,
    ExportTooLarge,
    PlacesBusy,
    UpstreamRateLimited,
    UpstreamTimeout,
)

pytestmark = pytest.mark.django_db


def test_the_addresses_stay_those_of_the_contract():
    assert (
        reverse("contact_export", args=["org-tejo", "csv"]) == "/orgs/org-tejo/contacts/export.csv"
    )
    assert reverse("contact_export", args=["org-tejo", EXPORTS["xlsx"]]).endswith("/export.xlsx")
    assert reverse("contact_lookup_file", args=["org-tejo", "xlsx"]).endswith("/lookup.xlsx")


@pytest.mark.parametrize(
    "path", ["export.json", "export.ndjson", "export.CSV", "lookup.ndjson", "lookup.json"]
)
def test_a_format_not_offered_there_is_not_found(member_client, upstream, path):
    # No pattern matches: CommonMiddleware tries the address with a slash, a contact page,
    # which has no such contact.
    response = member_client.get(f"/orgs/org-tejo/contacts/{path}", follow=True)
    assert response.status_code == 404


def test_the_lookup_stream_is_a_format_but_no_file():
    assert "ndjson" in FORMATS and "ndjson" not in LOOKUP_FILES and "ndjson" not in EXPORTS
    assert streamed_lookup("application/x-ndjson, */*") is FORMATS["ndjson"]
    assert streamed_lookup("text/html") is None


def test_the_search_page_lists_its_buttons_from_the_registry(member_client, upstream):
    page = member_client.get(reverse("contact_list", args=["org-tejo"])).content.decode()
    excel, csv = page.index("Download Excel"), page.index("Download CSV")
    assert excel < csv  # the primary download first
    assert 'href="/orgs/org-tejo/contacts/export.xlsx"' in page
    lookup = member_client.get(reverse("contact_lookup", args=["org-tejo"])).content.decode()
    assert 'formaction="/orgs/org-tejo/contacts/lookup.csv" id="lookup-csv"' in lookup
    assert 'formaction="/orgs/org-tejo/contacts/lookup.xlsx" id="lookup-xlsx"' in lookup


def test_one_row_gives_every_medium_its_form_of_an_error():
    busy = PlacesBusy(scope="user", running=2, limit=2, kind="summary")
    shown = errors.shown(busy)
    assert (shown.status, shown.retry_after, shown.no_store) == (429, 30, True)
    assert shown.json["error"] == "too_many_running" and shown.json["running"] == 2
    assert list(shown.json) == ["error", "kind", "title", "message", "running", "limit"]
    assert not errors.recorded_refusal(429) and errors.recorded_refusal(400)

    slow = errors.shown(UpstreamTimeout("read timeout"))
    assert (slow.status, slow.retry_after, slow.code) == (504, None, "UpstreamTimeout")
    assert errors.shown(UpstreamRateLimited(retry_after=0.2)).retry_after == 1  # at least 1 s

    assert errors.progress_reason("ExportTooLarge").startswith("The result is larger")
    assert errors.progress_reason("UpstreamTimeout").startswith("Contactship is taking too long.")
    assert errors.progress_reason(errors.progress_code(ExportTimeLimit())) == str(errors.UNEXPECTED)
    assert errors.progress_reason("status-400").startswith("The search is not valid")
    assert errors.progress_reason("status-x") == str(errors.UNEXPECTED)

    failed = errors.command_error(ExportTooLarge("12 pages"), "Export")
    assert isinstance(failed, CommandError) and failed.returncode == 1
    assert str(failed).startswith("Export failed: This export is too large.")
    assert str(failed).endswith("(ExportTooLarge: 12 pages)")
