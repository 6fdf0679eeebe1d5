"""Paging that cannot strand or mislead, and the export progress the search page shows.

Through Django's test client against the demo API over loopback (faults from the in-thread one).
"""

import json
import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from contacts.demo.data import matches
from contacts.demo.faults import Faults
from contacts.exports import progress as export_progress
from contacts.upstream.errors import PagingIgnored, UpstreamUnavailable
from tests.support import make_user

pytestmark = pytest.mark.django_db

TOKEN = "a" * 32


def list_url(org_id="org-tejo", **params):
    url = reverse("contact_list", args=[org_id])
    return f"{url}?{urlencode(params)}" if params else url


def progress_url(org_id="org-tejo", token=TOKEN):
    return reverse("contact_export_progress", args=[org_id]) + f"?token={token}"


def row_ids(response) -> list[str]:
    # The name's link of each row (a row's "+2 more" links to the same contact).
    name_link = r'<td class="col-full_name"[^>]*><a href="/orgs/[^/]+/contacts/([0-9a-f-]{36})/'
    return re.findall(name_link, response.content.decode())


# --- a page past the end -----------------------------------------------------------------------


def test_a_page_past_the_end_leads_to_the_first_and_the_last_page_with_rows(
    member_client, upstream
):
    last = -(-len(matches("org-tejo", full_name="ana")) // 100)  # 348 matches: page 4
    response = member_client.get(list_url(full_name="ana", page=999999))
    assert response.status_code == 200
    text = response.content.decode()
    assert f"No more contacts: the results end on page {last}." in text
    assert 'href="?full_name=ana"' in text  # the first page
    assert f'href="?full_name=ana&amp;page={last}"' in text
    assert 'page=99999"' not in text and "Page 100,000" not in text
    assert "export.csv" not in text and "export.xlsx" not in text  # nothing shown to download
    assert row_ids(response) == []


def test_past_the_end_of_a_one_page_result_offers_only_the_first_page(member_client, upstream):
    response = member_client.get(list_url("org-harbor", full_name="ana", page=7))
    text = response.content.decode()
    assert "the results end on page 1." in text
    assert 'href="?full_name=ana"' in text
    assert "Last page with contacts" not in text


def test_past_the_end_of_nothing_says_nothing_matches(member_client, upstream):
    response = member_client.get(list_url(full_name="zzz", page=3))
    text = response.content.decode()
    assert "No contacts match these filters." in text
    assert 'href="?full_name=zzz"' in text


# --- a failing page keeps the search -----------------------------------------------------------


def test_a_failing_page_keeps_the_form_and_its_filters(member_client, faulty, caplog):
    faulty(Faults(fail_from_offset=100))
    url = reverse("contact_list", args=["org-harbor"]) + "?full_name=a&page=2"
    response = member_client.get(url)
    assert response.status_code == 503
    text = response.content.decode()
    assert 'role="search"' in text
    assert 'name="full_name" value="a"' in text
    assert "Contactship is not answering" in text and "Traceback" not in text
    assert 'href="/orgs/org-harbor/contacts/?full_name=a&amp;page=2" hx-get' in text
    assert 'href="?full_name=a"' in text  # back to the first page, filters kept
    assert "upstream error shown org=org-harbor" in caplog.text


def test_a_failing_page_asked_by_htmx_answers_the_results_region(member_client, faulty):
    faulty(Faults(fail_from_offset=100))
    url = reverse("contact_list", args=["org-harbor"]) + "?full_name=a&page=2"
    response = member_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert response["HX-Retarget"] == "#results"
    assert response["HX-Reswap"] == "innerHTML"
    assert response["HX-Reselect"] == "unset"
    text = response.content.decode()
    assert "<main" not in text and "Contactship is not answering" in text


# --- an upstream that ignores paging -----------------------------------------------------------


def test_a_page_that_repeats_the_previous_one_says_paging_is_ignored(member_client, faulty, caplog):
    faulty(Faults(ignore_paging=True))
    first = member_client.get(reverse("contact_list", args=["org-harbor"]))
    assert len(row_ids(first)) == 100 and 'rel="next"' in first.content.decode()
    response = member_client.get(reverse("contact_list", args=["org-harbor"]) + "?page=2")
    text = response.content.decode()
    assert "Contactship ignores the request for further pages" in text
    assert "Contacts 101–200" not in text
    assert row_ids(response) == []
    assert 'rel="next"' not in text
    assert 'href="/orgs/org-harbor/contacts/" hx-get="/orgs/org-harbor/contacts/">« First' in text
    assert "paging ignored org=org-harbor page=2" in caplog.text


def test_a_real_second_page_is_not_taken_for_a_repeat(member_client, upstream):
    response = member_client.get(list_url(full_name="ana", page=2))
    assert len(row_ids(response)) == 100
    assert "Contacts 101–200" in response.content.decode()


# --- what the results are for -------------------------------------------------------------------


def test_the_results_say_which_search_they_are_for_as_typed(member_client, upstream):
    response = member_client.get(list_url(full_name=" ana ", phone_number="+351 53", email=""))
    found = re.search(r'data-search="([^"]*)"', response.content.decode()).group(1)
    shown = json.loads(found.replace("&quot;", '"'))
    assert shown == {"full_name": "ana", "phone_number": "+351 53"}


# --- export progress ------------------------------------------------------------------------------


def export(client, fmt="csv", **params):
    url = reverse("contact_export", args=["org-tejo", fmt]) + "?" + urlencode(params)
    return client.get(url)


def test_an_export_with_a_token_records_its_rows_and_its_end(member_client, upstream):
    assert member_client.get(progress_url()).json()["state"] == "unknown"
    response = export(member_client, full_name="ana", progress=TOKEN)
    chunks = iter(response.streaming_content)
    next(chunks)
    running = member_client.get(progress_url()).json()
    assert running["state"] == "running" and running["rows"] == 100
    for _ in chunks:
        pass
    done = member_client.get(progress_url())
    assert "no-store" in done["Cache-Control"].split(", ")
    assert done.json() == {
        "state": "done",
        "rows": len(matches("org-tejo", full_name="ana")),
        "reason": "",
    }


def test_an_xlsx_export_records_its_rows_before_its_first_byte(
    member_client, upstream, monkeypatch
):
    monkeypatch.setattr(export_progress, "INTERVAL", 0)
    seen = []
    real = export_progress.ProgressTracker._record

    def spy(self, state, reason=""):
        seen.append((state, self.rows))
        real(self, state, reason)

    monkeypatch.setattr(export_progress.ProgressTracker, "_record", spy)
    response = export(member_client, "xlsx", full_name="ana", progress=TOKEN)
    b"".join(response.streaming_content)
    assert ("running", 300) in seen
    assert seen[-1] == ("done", len(matches("org-tejo", full_name="ana")))


def test_a_failed_export_records_the_reason_in_words(member_client, faulty):
    faulty(Faults(fail_from_offset=300))
    response = export(member_client, progress=TOKEN)
    with pytest.raises(UpstreamUnavailable):
        b"".join(response.streaming_content)
    state = member_client.get(progress_url()).json()
    assert state["state"] == "failed"
    assert state["rows"] == 300
    assert "Contactship is not answering" in state["reason"]
    assert "Traceback" not in state["reason"] and "UpstreamUnavailable" not in state["reason"]


def test_paging_ignored_has_its_own_words(member_client, faulty):
    faulty(Faults(ignore_paging=True))
    response = export(member_client, progress=TOKEN)
    with pytest.raises(PagingIgnored):
        b"".join(response.streaming_content)
    reason = member_client.get(progress_url()).json()["reason"]
    assert "sent the same contacts again" in reason


def test_a_failure_before_the_first_byte_is_recorded_too(member_client, faulty):
    faulty(Faults(status=503))
    response = export(member_client, progress=TOKEN)
    assert response.status_code == 503
    assert member_client.get(progress_url()).json()["state"] == "failed"


# transaction=True: closing the response ends the request, and Django then closes a database
# connection found inside a transaction (a real close under PostgreSQL's connection pool).
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_download_says_so(member_client, upstream):
    response = export(member_client, progress=TOKEN)
    next(iter(response.streaming_content))
    response.close()
    assert member_client.get(progress_url()).json()["state"] == "cancelled"


def test_progress_in_spanish(member_client, faulty):
    faulty(Faults(fail_from_offset=100))
    response = export(member_client, progress=TOKEN)
    with pytest.raises(UpstreamUnavailable):
        b"".join(response.streaming_content)
    state = member_client.get(progress_url(), headers={"Accept-Language": "es"}).json()
    assert "Contactship no responde" in state["reason"]


def test_nobody_reads_another_users_progress(client, member_client, upstream, django_user_model):
    b"".join(export(member_client, progress=TOKEN).streaming_content)
    assert member_client.get(progress_url()).json()["state"] == "done"
    other = make_user(django_user_model, "otro", {"org-tejo": True})
    client.force_login(other)
    assert client.get(progress_url()).json()["state"] == "unknown"


def test_progress_needs_the_export_right_and_a_sane_token(
    client, member_client, upstream, django_user_model
):
    assert member_client.get(progress_url(token="../x")).status_code == 400
    assert member_client.get(progress_url(token="short")).status_code == 400
    viewer = make_user(django_user_model, "viewer", {"org-tejo": False})
    client.force_login(viewer)
    assert client.get(progress_url()).status_code == 403


def test_without_a_token_nothing_is_recorded(member_client, upstream, monkeypatch):
    member_client.get("/")  # the signed-in account is cached before the cache is watched
    writes = []
    monkeypatch.setattr(export_progress.cache, "set", lambda *args, **kwargs: writes.append(args))
    b"".join(export(member_client, full_name="ana").streaming_content)
    assert writes == []


def test_a_broken_cache_stops_the_recording_not_the_export(member_client, upstream, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(export_progress.cache, "set", broken)
    raw = b"".join(export(member_client, full_name="ana", progress=TOKEN).streaming_content)
    assert raw.count(b"\r\n") == len(matches("org-tejo", full_name="ana")) + 1


def test_a_failed_xlsx_is_an_error_page_not_a_bare_500(member_client, faulty):
    faulty(Faults(fail_from_offset=100))
    response = export(member_client, "xlsx", progress=TOKEN)
    assert response.status_code == 503
    assert not response.streaming
    assert "Contactship is not answering" in response.content.decode()
    state = member_client.get(progress_url()).json()
    assert state["state"] == "failed" and state["rows"] == 100


def test_an_export_refused_with_a_page_is_recorded_as_failed(member_client, upstream):
    response = export(member_client, phone_number="call me", progress=TOKEN)
    assert response.status_code == 400
    state = member_client.get(progress_url()).json()
    assert state["state"] == "failed"
    assert "The search is not valid" in state["reason"]
