"""The duplicates page and its downloads, against the demo API over loopback. The expected
groups are recomputed here from the demo's raw JSON with rules written for this test (not the
dashboard's code), so the tests hold for whatever contacts the demo has."""

import logging
import time
import unicodedata
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.urls import reverse

from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.models import AuditEvent
from tests.conftest import ORGANISATIONS
from tests.duplicate_keys import expected_key, text
from tests.support import body_of, cache_contents, csv_records, make_user, scan_threads, xlsx_rows

pytestmark = pytest.mark.django_db

ORG = "org-tejo"
REGION = "BR"


@pytest.fixture
def dashboard(upstream, settings):
    """The demo API, with org-tejo reading national phone numbers as Brazilian ones."""
    settings.CONTACTSHIP_ORGANISATIONS = {
        **ORGANISATIONS,
        ORG: {**ORGANISATIONS[ORG], "default_region": REGION},
    }
    return upstream


def url(name: str, *args: str, **params: str) -> str:
    base = reverse(name, args=[ORG, *args])
    return f"{base}?{urlencode(params)}" if params else base


def expected_groups(by: str, keep=lambda raw: True) -> list[tuple[str, list[str]]]:
    """(key, ids) per group: groups in the order of their first contact, ids in the API's."""
    groups: dict[str, list[str]] = {}
    for raw in contacts_for(ORG):
        if not keep(raw):
            continue
        key = expected_key(raw, by, REGION)
        if key is not None:
            groups.setdefault(key, []).append(raw["id"])
    return [(key, ids) for key, ids in groups.items() if len(ids) > 1]


def folded(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def in_brazil(raw: dict) -> bool:
    """The `country=Brasil` filter: case- and accent-insensitive."""
    return folded(text(raw.get("country"))) == "brasil"


def rows_of(groups: list[tuple[str, list[str]]]) -> list[tuple[str, str, str]]:
    return [(str(n), key, id_) for n, (key, ids) in enumerate(groups, 1) for id_ in ids]


def page_text(response) -> str:
    return b"".join(response.streaming_content).decode()


# --- the downloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["email", "phone", "name"])
def test_the_csv_holds_exactly_the_groups_in_order(dashboard, member_client, by):
    expected = expected_groups(by)
    response = member_client.get(url("contact_duplicates_file", "csv", by=by))
    assert response.status_code == 200
    assert f"duplicates-{by}-" in response["Content-Disposition"]
    records = csv_records(body_of(response))
    assert [(r["group"], r["key"], r["id"]) for r in records] == rows_of(expected)
    if by == "name":
        assert expected, "the demo has contacts with the same name"


def test_filters_and_chosen_columns_apply(dashboard, member_client):
    def keep(raw):
        return "a" in text(raw.get("full_name")).casefold()

    expected = expected_groups("name", keep)
    response = member_client.get(
        url("contact_duplicates_file", "csv", by="name", full_name="a", columns="id,email")
    )
    body = body_of(response)
    header = body.decode("utf-8-sig").splitlines()[0]
    assert header == "group,key,id,email"
    records = csv_records(body)
    assert [(r["group"], r["key"], r["id"]) for r in records] == rows_of(expected)
    emails = {raw["id"]: text(raw.get("email")) for raw in contacts_for(ORG)}
    assert all(r["email"] == (emails[r["id"]]) for r in records)


def test_the_xlsx_holds_the_same_rows(dashboard, member_client):
    expected = expected_groups("name")
    response = member_client.get(url("contact_duplicates_file", "xlsx", by="name"))
    assert response.status_code == 200
    rows = xlsx_rows(body_of(response))
    assert rows[0][:3] == ["group", "key", "id"]
    assert [(str(r[0]), r[1], r[2]) for r in rows[1:]] == rows_of(expected)
    assert all(isinstance(r[0], int) for r in rows[1:])


def test_a_download_is_audited_as_an_export_with_its_key(dashboard, member_client):
    body_of(member_client.get(url("contact_duplicates_file", "csv", by="name", country="Brasil")))
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.EXPORT)
    assert event.outcome == AuditEvent.Outcome.COMPLETED
    assert event.filters == {"country": "Brasil", "by": "name"}
    assert event.rows == sum(len(ids) for _key, ids in expected_groups("name", in_brazil))


def test_the_download_needs_the_export_right(dashboard, client, django_user_model):
    client.force_login(make_user(django_user_model, "reader", {ORG: False}))
    assert client.get(url("contact_duplicates_file", "csv", by="email")).status_code == 403
    page = client.get(url("contact_duplicates", by="name"))
    assert page.status_code == 200
    text_ = page_text(page)
    assert "duplicates.csv" not in text_ and "duplicates.xlsx" not in text_


def test_an_unknown_key_is_refused(dashboard, member_client):
    assert member_client.get(url("contact_duplicates", by="shoe")).status_code == 400
    response = member_client.get(url("contact_duplicates_file", "csv", by="shoe"))
    assert response.status_code == 400
    assert b"by=email" in response.content


# --- the page -------------------------------------------------------------------------------------


def test_the_page_shows_the_groups_with_their_keys(dashboard, member_client):
    expected = expected_groups("name")
    response = member_client.get(url("contact_duplicates", by="name", country="Brasil"))
    assert response.status_code == 200
    html = page_text(response)
    brazil = expected_groups("name", in_brazil)
    assert expected and brazil
    for number, (key, ids) in enumerate(brazil[:100], 1):
        assert f'id="group-{number}"' in html
        assert key in html
        for id_ in ids:
            assert id_ in html
    assert f'id="group-{len(brazil) + 1}"' not in html
    # The switch and the downloads keep the search's filters.
    assert "country=Brasil&amp;by=email" in html
    assert "duplicates.csv?country=Brasil&amp;by=name" in html


def test_an_empty_result_says_so(dashboard, member_client):
    response = member_client.get(url("contact_duplicates", by="email", full_name="zzzzqqq"))
    html = page_text(response)
    assert "No two of the matching contacts share an email address." in html
    assert 'id="group-1"' not in html


def test_nothing_of_a_contact_is_kept_or_logged(dashboard, member_client, caplog):
    caplog.set_level(logging.DEBUG)
    groups = expected_groups("name")
    page_text(member_client.get(url("contact_duplicates", by="name")))
    body_of(member_client.get(url("contact_duplicates_file", "csv", by="name")))
    body_of(member_client.get(url("contact_duplicates_file", "xlsx", by="name")))
    people = {key for key, _ids in groups}
    for raw in contacts_for(ORG):
        if any(raw["id"] in ids for _k, ids in groups):
            people.update(text(raw.get(f)) for f in ("full_name", "email", "phone_number"))
    people.discard("")
    assert people
    logged = "\n".join(r.getMessage() for r in caplog.records)
    stored = repr([list(model.objects.values()) for model in apps.get_models()])
    kept = cache_contents()  # every value the cache holds, whatever its key and backend
    for value in people:
        assert value not in logged
        assert value not in stored
        assert value.encode() not in kept


# --- failures -------------------------------------------------------------------------------------


def test_an_upstream_failure_is_the_error_page(member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 20
    faulty(Faults(status=503))
    page = member_client.get(url("contact_duplicates", by="name"))
    assert page.status_code == 503
    assert "Contactship is not answering" in page.content.decode()
    download = member_client.get(url("contact_duplicates_file", "csv", by="name"))
    assert download.status_code == 503
    assert "Contactship is not answering" in download.content.decode()
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.EXPORT)
    assert event.outcome == AuditEvent.Outcome.FAILED


def test_a_failure_midway_is_said_on_the_page_and_fails_the_file(member_client, faulty, settings):
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(fail_from_offset=300))
    html = page_text(member_client.get(url("contact_duplicates", by="name")))
    assert "The counting stopped before the end" in html
    assert 'id="group-1"' not in html
    # XLSX: nothing sent before the file is complete, so the failure is still an error page.
    download = member_client.get(url("contact_duplicates_file", "xlsx", by="name"))
    assert download.status_code == 503
    assert AuditEvent.objects.get(kind=AuditEvent.Kind.EXPORT).outcome == "failed"


@pytest.mark.django_db(transaction=True)
def test_leaving_the_page_stops_the_scan(member_client, faulty):
    server = faulty(Faults(latency_ms=30))
    earlier = set(scan_threads())  # an earlier test's scan may still be ending
    response = member_client.get(url("contact_duplicates", by="name"))
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)
    assert set(scan_threads()) - earlier
    response.close()  # what the server does when the browser goes away
    seen = server.requests_seen
    assert set(scan_threads()) - earlier == set()
    time.sleep(0.3)
    assert server.requests_seen <= seen + 1  # a call under way when it closed
    assert seen < 24  # it stopped well before the 24 pages of the first reading
