"""The summary (page, JSON, command) and the dashboard's own filters (search page, exports),
against the demo API over loopback; every count is checked against the demo's own data, counted
here independently from its raw JSON (missing, null and odd-typed fields included)."""

import csv
import io
import json
import logging
import re
import time
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from contacts.contact.query import ContactQuery
from contacts.demo.data import contacts_for, country_names, matches
from contacts.demo.faults import Faults
from contacts.insights.summary import SummaryRun, summary_cache_key
from contacts.upstream.breaker import CircuitBreaker
from contacts.upstream.organisations import organisation_get
from tests.conftest import ORGANISATIONS
from tests.support import demo_api_process, make_user, scan_threads

pytestmark = pytest.mark.django_db


def url(name: str, org_id: str = "org-tejo", *more: str, **params: str) -> str:
    base = reverse(name, args=[org_id, *more])
    return f"{base}?{urlencode(params)}" if params else base


def read_json(response) -> dict:
    """summary.json's body: streamed while it counts (spaces, then the JSON), whole from the
    cache or for an error. Reading a streamed one to its end gives its summary place back."""
    if response.streaming:
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def country_group(name: str) -> str:
    """What the dashboard groups a country name by, from the demo's own knowledge of what its
    names mean ("España", "Espanha" and "Spain" are all "ES"); a name it does not write, folded."""
    return DEMO_COUNTRIES.get(folded(name), folded(name))


DEMO_COUNTRIES = {folded(name): code for name, code in country_names().items()}


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def created(raw: dict) -> datetime | None:
    value = raw.get("created_at")
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def passes(raw: dict, country="", created_from=None, created_to=None, email_domain="") -> bool:
    if country and country_group(text(raw.get("country"))) != country_group(country):
        return False
    if email_domain:
        email = text(raw.get("email"))
        if "@" not in email or email.rsplit("@", 1)[1].lower() != email_domain:
            return False
    if created_from or created_to:
        when = created(raw)
        if when is None:
            return False
        if created_from and when.date() < date.fromisoformat(created_from):
            return False
        if created_to and when.date() > date.fromisoformat(created_to):
            return False
    return True


def expected(org_id: str, **filters: str) -> list[dict]:
    api = {k: v for k, v in filters.items() if k in ("full_name", "email", "phone_number")}
    post = {k: v for k, v in filters.items() if k not in api}
    return [c for c in matches(org_id, **api) if passes(c, **post)]


def expected_summary(contacts: list[dict]) -> dict:
    countries: Counter = Counter()
    no_country = 0
    months: Counter = Counter()
    domains: Counter = Counter()
    present: Counter = Counter()
    fields: Counter = Counter()
    for raw in contacts:
        country = text(raw.get("country"))
        if country:
            countries[country_group(country)] += 1
        else:
            no_country += 1
        when = created(raw)
        months[when.strftime("%Y-%m") if when else None] += 1
        email = text(raw.get("email"))
        if "@" in email:
            domains[email.rsplit("@", 1)[1].lower()] += 1
        for name in ("email", "phone_number", "country", "description"):
            if text(raw.get(name)):
                present[name] += 1
        fields.update({item["field"] for item in raw.get("additional_data") or []})
    return {
        "count": len(contacts),
        "countries": countries,
        "no_country": no_country,
        "months": months,
        "domains": domains,
        "completeness": {
            n: present[n] for n in ("email", "phone_number", "country", "description")
        },
        "fields": fields,
    }


def check(summary: dict, contacts: list[dict]) -> None:
    want = expected_summary(contacts)
    assert summary["count"] == want["count"]
    assert summary["complete"] is True
    got_countries = {
        country_group(r["value"]): r["count"] for r in summary["countries"] if r["value"]
    }
    assert got_countries == dict(want["countries"])
    nulls = [r["count"] for r in summary["countries"] if r["value"] is None]
    assert nulls == ([want["no_country"]] if want["no_country"] else [])
    assert {r["month"]: r["count"] for r in summary["created_by_month"]} == dict(want["months"])
    months = [r["month"] for r in summary["created_by_month"] if r["month"]]
    assert months == sorted(months)
    top = want["domains"].most_common()
    assert len(summary["email_domains"]) == min(50, len(top))
    for row in summary["email_domains"]:
        assert want["domains"][row["value"]] == row["count"]
    if len(top) > 50:  # nothing left out counts more than the last one shown
        assert top[50][1] <= summary["email_domains"][-1]["count"]
    assert summary["completeness"] == want["completeness"]
    assert {r["field"]: r["count"] for r in summary["fields"]} == dict(want["fields"])


FILTERS = [
    {},
    {"full_name": "ana"},
    {"country": "BRASIL"},
    {"country": "espana"},  # "España": accents and case do not matter
    {"country": "Spain"},  # any language's name: "España" and "Espanha" alike
    {"created_from": "2021-03-01", "created_to": "2021-05-31"},
    {"email_domain": "gmail.com"},
    {"full_name": "a", "country": "portugal", "created_from": "2020-01-01"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: urlencode(f) or "all")
def test_summary_json_counts_match_the_demo_data(member_client, upstream, filters):
    response = member_client.get(url("contact_summary_json", **filters))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    summary = read_json(response)
    assert summary["organisation"] == "org-tejo"
    assert summary["filters"] == filters
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", summary["computed_at"])
    check(summary, expected("org-tejo", **filters))


def test_the_data_has_the_odd_fields_the_counts_must_survive():
    raw = contacts_for("org-tejo")
    assert any("country" not in c for c in raw) and any(c.get("country") is None for c in raw)
    assert any("email" not in c for c in raw) and any(c.get("email") is None for c in raw)
    values = [i["value"] for c in raw for i in c.get("additional_data") or []]
    assert any(isinstance(v, bool) for v in values) and any(isinstance(v, float) for v in values)


def test_no_country_is_counted_apart_and_links_to_its_own_search(member_client, upstream):
    summary = read_json(member_client.get(url("contact_summary_json")))
    none = [r for r in summary["countries"] if r["value"] is None]
    assert len(none) == 1 and none[0]["count"] > 0
    assert summary["countries"][-1] is none[0]
    page = member_client.get(url("contact_summary")).content.decode()
    assert 'href="/orgs/org-tejo/contacts/?country=-"' in page
    narrowed = member_client.get(url("contact_list", country="-"))
    # One id per row: the name's link (a row's "+N more" links to the same contact).
    name_link = r'<td class="col-full_name"[^>]*><a href="/orgs/[^/]+/contacts/([0-9a-f-]{36})/'
    ids = re.findall(name_link, narrowed.content.decode())
    want = [c["id"] for c in contacts_for("org-tejo") if not text(c.get("country"))]
    assert ids and ids == list(dict.fromkeys(want))[: len(ids)]


def test_summary_page_streams_progress_then_the_counts_and_links(member_client, upstream):
    response = member_client.get(url("contact_summary", full_name="ana"))
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    assert 'class="scan-progress"' in body and 'class="progress-line"' in body
    assert body.index("progress-line") < body.index('id="summary"')
    count = len(matches("org-tejo", full_name="ana"))
    assert f'<strong class="total">{count}</strong>' in body
    # A country, a month and a domain, each a link to the search narrowed to it.
    assert 'href="/orgs/org-tejo/contacts/?full_name=ana&amp;country=Brasil"' in body
    assert re.search(
        r'href="/orgs/org-tejo/contacts/\?full_name=ana&amp;created_from=2019-01-01&amp;'
        r'created_to=2019-01-31"',
        body,
    )
    assert re.search(r'href="/orgs/org-tejo/contacts/\?full_name=ana&amp;email_domain=[^"]+"', body)
    # The chart: server-rendered SVG, no script and no inline style; its numbers as a table.
    assert "<svg" in body and "<rect" in body
    assert "<script>" not in body and "style=" not in body
    assert '<th scope="col">Month</th>' in body
    assert "Refresh" in body and "Computed" in body


def test_a_finished_summary_is_cached_for_the_organisation_and_refresh_counts_again(
    member_client, upstream, caplog
):
    first = read_json(member_client.get(url("contact_summary_json", full_name="ana")))
    caplog.clear()
    page = member_client.get(url("contact_summary", full_name="ana"))
    assert not page.streaming  # from the cache: no scan
    assert "progress-line" not in page.content.decode()
    assert not [r for r in caplog.records if hasattr(r, "upstream")]
    again = read_json(member_client.get(url("contact_summary_json", full_name="ana")))
    assert again["computed_at"] == first["computed_at"]
    refreshed = member_client.get(url("contact_summary", full_name="ana", refresh="1"))
    assert refreshed.streaming
    b"".join(refreshed.streaming_content)
    assert [r for r in caplog.records if hasattr(r, "upstream")]


def test_one_organisations_summary_is_never_served_to_another(member_client, upstream):
    tejo = read_json(member_client.get(url("contact_summary_json", full_name="ana")))
    harbor_url = url("contact_summary_json", "org-harbor", full_name="ana")
    harbor = read_json(member_client.get(harbor_url))
    assert harbor["organisation"] == "org-harbor"
    check(harbor, expected("org-harbor", full_name="ana"))
    assert tejo["count"] != harbor["count"]
    query = ContactQuery(full_name="ana")
    assert summary_cache_key("org-tejo", query) != summary_cache_key("org-harbor", query)


def test_the_cache_holds_counts_never_contacts_or_the_key(member_client, upstream, settings):
    from django.core.cache import cache

    read_json(member_client.get(url("contact_summary_json", full_name="ana")))
    kept = cache.get(summary_cache_key("org-tejo", ContactQuery(full_name="ana")))
    dumped = json.dumps(kept, ensure_ascii=False)
    some = matches("org-tejo", full_name="ana")[0]
    assert some["id"] not in dumped and some["full_name"] not in dumped
    assert settings.CONTACTSHIP_ORGANISATIONS["org-tejo"]["api_key"] not in dumped


def test_the_cap_says_the_counts_cover_only_the_first_contacts(member_client, upstream, settings):
    settings.CONTACTSHIP_MAX_EXPORT_PAGES = 3
    summary = read_json(member_client.get(url("contact_summary_json")))
    assert summary["complete"] is False
    assert summary["count"] == 300 and summary["scanned"] == 300
    body = b"".join(
        member_client.get(url("contact_summary", refresh="1")).streaming_content
    ).decode()
    assert "these counts cover only the first 300 contacts" in body


def test_invalid_filters_are_400_on_the_page_and_the_json(member_client, upstream):
    page = member_client.get(url("contact_summary", created_from="yesterday"))
    assert page.status_code == 400
    assert "Created from" in page.content.decode()
    data = member_client.get(
        url("contact_summary_json", created_to="2020-01-01", created_from="2021-01-01")
    )
    assert data.status_code == 400
    assert data.json()["fields"]["created_to"]


def test_an_upstream_failure_is_an_error_page_and_a_json_error(
    member_client, faulty, caplog, settings
):
    # Each failed attempt counts for the breaker, and one summary here makes five: the circuit
    # would be open for the second request, which is about the error it shows.
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 20
    faulty(Faults(status=503))
    page = member_client.get(url("contact_summary"))
    assert page.status_code == 503
    assert "Contactship is not answering" in page.content.decode()
    data = member_client.get(url("contact_summary_json"))
    assert data.status_code == 503
    assert data.json()["error"] == "UpstreamUnavailable"
    assert "Traceback" not in data.content.decode()
    assert any("upstream error shown" in r.getMessage() for r in caplog.records)


def test_a_failure_midway_is_said_on_the_page(member_client, faulty, settings):
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(fail_from_offset=300))
    response = member_client.get(url("contact_summary"))
    assert response.status_code == 200  # the first pages were counted before it failed
    body = b"".join(response.streaming_content).decode()
    assert "The counting stopped before the end" in body
    assert "Matching contacts" not in body


def test_a_failure_midway_is_the_json_error_after_the_spaces(member_client, faulty, settings):
    settings.CONTACTSHIP_RETRIES = 0
    faulty(Faults(fail_from_offset=300))
    response = member_client.get(url("contact_summary_json"))
    assert response.status_code == 200  # the first page was counted before it failed
    error = read_json(response)
    assert error["error"] == "UpstreamUnavailable"
    assert "count" not in error


# Closing a streamed response ends the request, and Django then closes the database connection:
# inside a test's transaction that breaks PostgreSQL's pool, hence transaction=True.
@pytest.mark.django_db(transaction=True)
def test_leaving_before_the_first_byte_stops_the_scan(member_client, faulty):
    faulty(Faults(latency_ms=30))
    earlier = set(scan_threads())  # an earlier test's scan may still be ending
    response = member_client.get(url("contact_summary"))
    assert response.streaming
    response.close()  # the browser left before a byte was sent
    assert set(scan_threads()) - earlier == set()


@pytest.mark.django_db(transaction=True)
def test_leaving_the_summary_page_stops_the_scan(member_client, faulty):
    server = faulty(Faults(latency_ms=30))
    earlier = set(scan_threads())  # an earlier test's scan may still be ending
    response = member_client.get(url("contact_summary"))
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)
    assert set(scan_threads()) - earlier
    response.close()  # what the server does when the browser goes away
    seen = server.requests_seen
    assert set(scan_threads()) - earlier == set()
    assert server.requests_seen <= seen + 1
    assert seen < 24  # it stopped well before the 24 pages of org-tejo


def test_a_summary_run_stopped_early_ends_its_scan(faulty):
    faulty(Faults(latency_ms=20))
    run = SummaryRun(organisation=organisation_get("org-tejo"), query=ContactQuery())
    earlier = set(scan_threads())
    steps = run.steps()
    next(steps)
    steps.close()
    assert set(scan_threads()) - earlier == set()


# --- the dashboard's filters on the search page and the exports ---------------------------------


def page_ids(response) -> list[str]:
    html = response.content.decode()
    return list(dict.fromkeys(re.findall(r"/orgs/[^/]+/contacts/([0-9a-f-]{36})/", html)))


def test_search_pages_continue_where_they_stopped(member_client, upstream, caplog):
    filters = {"country": "Portugal"}
    want = [c["id"] for c in expected("org-tejo", **filters)]
    assert len(want) > 200
    got: list[str] = []
    response = member_client.get(url("contact_list", **filters))
    offsets_seen: list[list[int]] = []
    while True:
        assert response.status_code == 200
        html = response.content.decode()
        assert "applied by the dashboard" in html
        got += page_ids(response)
        found = re.search(r'rel="next" href="\?([^"]+)"', html)
        if not found:
            break
        params = dict(p.split("=", 1) for p in found.group(1).replace("&amp;", "&").split("&"))
        caplog.clear()
        response = member_client.get(url("contact_list", **params))
        offsets = [r.upstream["params"]["offset"] for r in caplog.records if hasattr(r, "upstream")]
        offsets_seen.append(offsets)
        # Each page continues from where the last one stopped, never from the start again.
        assert min(offsets) == int(params["start"]) > 0
    assert got == want
    assert len(offsets_seen) >= 2


def test_a_filtered_page_stops_at_its_time_budget_and_offers_to_continue(
    member_client, faulty, settings
):
    settings.DASHBOARD_FILTER_PAGE_SECONDS = 0.0  # one upstream page per search page
    faulty(Faults())
    response = member_client.get(url("contact_list", country="Uruguay"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'rel="next" href="?country=Uruguay&amp;start=100&amp;seen=' in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_apply_the_dashboards_filters(member_client, upstream, fmt):
    filters = {
        "full_name": "a",
        "country": "españa",
        "created_to": "2023-12-31",
        "email_domain": "gmail.com",
    }
    want = [c["id"] for c in expected("org-tejo", **filters)]
    assert want
    response = member_client.get(url("contact_export", "org-tejo", fmt, **filters))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        ids = [row[0] for row in rows[1:]]
    else:
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == want


def test_the_search_page_has_a_way_to_the_summary(member_client, upstream):
    html = member_client.get(url("contact_list", full_name="ana")).content.decode()
    assert 'href="/orgs/org-tejo/contacts/summary/?full_name=ana"' in html


def test_a_member_of_another_organisation_gets_no_summary(client, upstream, django_user_model):
    outsider = make_user(django_user_model, "outsider", {"org-harbor": False})
    client.force_login(outsider)
    assert client.get(url("contact_summary_json")).status_code == 403
    assert client.get(url("contact_summary")).status_code == 403


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_the_json_and_the_text(upstream):
    out = io.StringIO()
    call_command("summarise_contacts", "org-tejo", "--country", "brasil", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    check(summary, expected("org-tejo", country="brasil"))
    assert summary["filters"] == {"country": "brasil"}
    out = io.StringIO()
    call_command("summarise_contacts", "org-harbor", "--full-name", "ana", stdout=out)
    count = len(matches("org-harbor", full_name="ana"))
    assert out.getvalue().startswith(f"{count:,} contacts match in org-harbor.")


def test_a_filtered_export_takes_its_columns_from_the_first_page_with_a_match(
    member_client, upstream
):
    # Few contacts of org-tejo are in Uruguay ("Uruguai" or "Uruguay"), and none of those
    # created from April 2019 on is on the first upstream page.
    filters = {"country": "uruguay", "created_from": "2019-04-01"}
    want = expected("org-tejo", **filters)
    first_index = contacts_for("org-tejo").index(want[0])
    assert first_index >= 100
    response = member_client.get(url("contact_export", "org-tejo", "csv", **filters))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    names = {item["field"] for item in want[0].get("additional_data") or []}
    assert names and names <= set(rows[0])
    assert [row[0] for row in rows[1:]] == [c["id"] for c in want]


# --- riding out noise -----------------------------------------------------------------------------


@pytest.fixture
def noisy_api(settings):
    """The demo API as its own process (as in production, it does not share the dashboard's
    CPU), answering a seeded 5% of requests with 500 (`--error-rate`)."""
    with demo_api_process("--error-rate", "0.05", organisations=ORGANISATIONS) as (url, line):
        assert "500 on 5% of requests" in line, line
        settings.CONTACTSHIP_API_URL = url
        settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
        yield


@pytest.mark.live
@pytest.mark.timeout(120)
def test_a_60k_summary_rides_out_a_5_percent_error_rate(noisy_api, caplog, monkeypatch):
    # org-andes: 60,000 contacts, 600 pages and the empty one after them. One answer in twenty
    # is a 500: without retries the summary fails on its first unlucky page.
    failures_told: list[str] = []
    monkeypatch.setattr(
        CircuitBreaker, "record_failure", lambda self, org_id: failures_told.append(org_id)
    )
    started = time.monotonic()
    run = SummaryRun(organisation=organisation_get("org-andes"), query=ContactQuery())
    with caplog.at_level(logging.INFO, logger="contacts.upstream.client"):
        for _ in run.steps():
            pass
    summary = run.result()
    elapsed = time.monotonic() - started
    check(summary, list(contacts_for("org-andes")))
    lines = [r.upstream for r in caplog.records if hasattr(r, "upstream")]
    failed = [line for line in lines if line["status"] == "500"]
    # The noise was there, and every 500 of a page was tried again until it was answered...
    assert len(failed) >= 15
    assert {line["status"] for line in lines} == {"200", "500"}
    # ...and each failed attempt of a page the summary used was told to the breaker; those of
    # speculative pages past the end (offset above 60,000) are not the summary's.
    used = [line for line in failed if line["params"]["offset"] <= 60_000]
    assert len(failures_told) == len(used)
    print(f"\n60k summary at 5% errors: {len(lines)} calls, {len(failed)} 500s, {elapsed:.1f} s")
