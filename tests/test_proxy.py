"""The proxy configuration (deploy/nginx/dashboard.conf.template) with Debian's nginx over TLS in
front of two replicas, proving each promise the documentation makes of it. See tests/proxy.py."""

import io
import json
import re
import time
import zipfile

import pytest
import requests

from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.demo.server import serve_in_thread
from tests.proxy import USERNAME, proxied, proxy_base, require_nginx
from tests.support import in_thread

pytestmark = pytest.mark.live

ORG = "org-tejo"  # 2,345 contacts: 24 pages


@pytest.fixture(scope="module")
def base():
    require_nginx()
    with proxy_base() as prepared:
        yield prepared


@pytest.fixture(scope="module")
def api(base):
    with serve_in_thread(base.keys()) as server:
        yield server


@pytest.fixture
def stack(base, api):
    api.faults = Faults()
    with proxied(base, api.base_url) as running:
        yield running
    api.faults = Faults()


def export_events(base, since: int) -> list[tuple]:
    return base.query(
        "SELECT outcome, path, ip_address FROM contacts_auditevent "
        "WHERE kind = 'export' AND id > ? ORDER BY id",
        since,
    )


def last_event_id(base) -> int:
    return base.query("SELECT COALESCE(MAX(id), 0) FROM contacts_auditevent")[0][0]


def test_login_works_through_the_proxy_on_a_port_other_than_443(stack):
    assert stack.port != 443
    session = stack.login()  # the CSRF check compares Origin with Host: the port must survive
    page = session.get(stack.path(f"/orgs/{ORG}/contacts/"), timeout=30)
    assert page.status_code == 200
    assert "contacts" in page.text
    # Replicas share the secret key and the database: every request, on either, is logged in.
    for _ in range(4):
        home = session.get(stack.path("/"), timeout=30, allow_redirects=False)
        assert home.status_code == 200  # the organisation chooser, not a redirect to log in
        assert f"/orgs/{ORG}/contacts/" in home.text
        assert session.get(stack.path(f"/orgs/{ORG}/contacts/"), timeout=30).status_code == 200
    answered_by = {line["upstream"] for line in stack.access_log() if line["uri"] != "/healthz"}
    assert answered_by == {r.address for r in stack.replicas}


def test_the_dashboards_own_error_pages_pass_through_the_proxy(stack, api):
    session = stack.login()
    api.faults = Faults(status=401)  # the key refused: the dashboard answers 502 itself
    page = session.get(stack.path(f"/orgs/{ORG}/contacts/?full_name=zz"), timeout=30)
    assert page.status_code == 502
    assert "access to Contactship was refused" in page.text
    assert "The contacts dashboard is not answering" not in page.text


def test_the_client_cannot_choose_its_forwarded_address_or_scheme(stack, base):
    since = last_event_id(base)
    session = stack.session()
    session.get(stack.path("/accounts/login/"), timeout=30)
    session.post(
        stack.path("/accounts/login/"),
        data={
            "username": USERNAME,
            "password": "wrong",
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
        },
        headers={
            "Origin": stack.url,
            "X-Forwarded-For": "203.0.113.66",
            "X-Forwarded-Proto": "http",
            "X-Forwarded-User": USERNAME,
        },
        timeout=30,
    )
    rows = base.query(
        "SELECT kind, ip_address FROM contacts_auditevent WHERE id > ? ORDER BY id", since
    )
    assert rows == [("login_failed", "127.0.0.1")]


def test_a_cut_export_is_an_incomplete_download_through_the_proxy(stack, api, base):
    session = stack.login()
    since = last_event_id(base)
    api.faults = Faults(fail_from_offset=500)
    with session.get(stack.path(f"/orgs/{ORG}/contacts/export.csv"), stream=True, timeout=60) as r:
        assert r.status_code == 200
        received = bytearray()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in r.iter_content(8192):
                received.extend(chunk)
    # Part of the file came, then the download failed: never a short file that looks whole.
    assert received.count(b"\r\n") >= 500
    assert received.count(b"\r\n") < len(contacts_for(ORG))
    assert export_events(base, since) == [
        ("failed", f"/orgs/{ORG}/contacts/export.csv", "127.0.0.1")
    ]


def test_an_export_is_never_retried_on_the_other_replica(stack, api, base):
    session = stack.login()
    since = last_event_id(base)
    api.faults = Faults(latency_ms=300)  # 24 pages, two in flight: a few seconds per export

    def export():
        response = session.get(stack.path(f"/orgs/{ORG}/contacts/export.xlsx"), timeout=120)
        return response.status_code, response.content, response.headers.get("Content-Type")

    # Two exports at once: nginx's round robin gives one to each replica.
    runs = [in_thread(export) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(export_events(base, since)) < 2:
        assert time.monotonic() < deadline, "the exports did not start"
        time.sleep(0.05)
    stack.replicas[0].kill()  # mid-export, before the workbook is complete
    for thread, _ in runs:
        thread.join(120)
    results = sorted(result["value"] for _, result in runs)
    (ok_status, ok_body, _), (cut_status, cut_body, cut_type) = results
    assert ok_status == 200
    zipfile.ZipFile(io.BytesIO(ok_body)).testzip()  # a whole workbook
    # The other answers the dashboard's own "not answering" page, not nginx's, and no retry.
    assert cut_status == 503
    assert "text/html" in cut_type
    assert b"The contacts dashboard is not answering" in cut_body
    assert b"nginx" not in cut_body
    # Two exports started, two recorded: nobody ran the cut one again. It never ended.
    outcomes = sorted(outcome for outcome, _, _ in export_events(base, since))
    assert outcomes == ["completed", "started"]
    exports = [line for line in stack.access_log() if "export.xlsx" in line["uri"]]
    assert len(exports) == 2
    assert all("," not in line["upstream"] for line in exports), exports


def test_a_killed_replicas_in_flight_gets_are_answered_by_the_other(stack, api):
    session = stack.login()
    api.faults = Faults(latency_ms=3000)
    names = ["ana", "luis", "maria", "jose"]  # different searches: no cached answer

    def search(name):
        return lambda: session.get(
            stack.path(f"/orgs/{ORG}/contacts/?full_name={name}"), timeout=60
        )

    runs = [in_thread(search(name)) for name in names]
    time.sleep(1.5)  # every request is at a replica, waiting for the API
    stack.replicas[0].kill()
    for thread, _ in runs:
        thread.join(60)
    statuses = [
        result.get("value").status_code if "value" in result else result for _, result in runs
    ]
    assert statuses == [200] * len(names)
    # The killed replica had some of them; nginx asked the other one again.
    searches = [line for line in stack.access_log() if "full_name=" in line["uri"]]
    killed, survivor = (r.address for r in stack.replicas)
    retried = [line for line in searches if line["upstream"] == f"{killed}, {survivor}"]
    assert retried, searches
    assert all(line["status"] == "200" for line in searches)


def test_the_dashboards_own_page_when_no_replica_answers(stack):
    for replica in stack.replicas:
        replica.kill()
    response = stack.session().get(stack.path("/accounts/login/"), timeout=30)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "The contacts dashboard is not answering" in response.text
    assert "El panel de contactos no responde" in response.text
    assert "O painel de contatos não está respondendo" in response.text
    assert "nginx" not in response.text


def lookup_post(stack, session, files: dict, column: str = "email") -> requests.Response:
    return session.post(
        stack.path(f"/orgs/{ORG}/contacts/lookup/"),
        data={"csrfmiddlewaretoken": session.cookies.get("csrftoken", ""), "column": column},
        files=files,
        headers={"Origin": stack.url, "Referer": stack.path(f"/orgs/{ORG}/contacts/lookup/")},
        timeout=120,
    )


def test_a_bulk_lookup_file_passes_the_proxy_and_a_too_large_one_gets_a_message(stack):
    session = stack.login()
    emails = [c["email"] for c in contacts_for(ORG)[:3]]
    # A spreadsheet with wide columns: 2 MB, above nginx's default client_max_body_size of 1 MB.
    notes = ",".join(["x" * 30_000] * 25)  # a spreadsheet cell holds at most 32,767 characters
    rows = "".join(f"{email},{notes}\r\n" for email in emails)
    csv = ("email" + ",notes" * 25 + "\r\n" + rows).encode()
    assert len(csv) > 2_000_000
    page = lookup_post(stack, session, {"file": ("fair.csv", csv, "text/csv")})
    assert page.status_code == 200, page.text[page.text.find("lookup-errors") :][:600]
    for email in emails:
        assert email in page.text
    assert "Values looked up: 3." in page.text
    assert "3 found" in page.text
    # 12 MB: past the dashboard's DASHBOARD_LOOKUP_FILE_MAX_MB (10), within the proxy's 32 MB,
    # so the dashboard answers, on its form.
    big = b"email\r\n" + b"x" * 12_000_000
    page = lookup_post(stack, session, {"file": ("big.csv", big, "text/csv")})
    assert page.status_code == 413
    assert "a lookup reads files of up to 10 MB" in page.text
    assert 'id="lookup-form"' in page.text
    # 40 MB: past the proxy's limit too; its own page, written for a person.
    huge = b"email\r\n" + b"x" * 40_000_000
    page = lookup_post(stack, session, {"file": ("huge.csv", huge, "text/csv")})
    assert page.status_code == 413
    assert "That file is too large to send" in page.text
    assert "Esse arquivo é grande demais para ser enviado" in page.text
    assert "nginx" not in page.text


def test_a_summary_is_never_retried_on_the_other_replica(stack, api):
    session = stack.login()
    # The first page takes 3 s, and the summary sends nothing before it: a replica lost then
    # is one nginx would otherwise ask the same summary of again.
    api.faults = Faults(latency_ms=3000)

    def summary():
        response = session.get(
            stack.path(f"/orgs/{ORG}/contacts/summary.json?refresh=1"), timeout=60
        )
        return response.status_code, response.content

    # Two at once: nginx's round robin gives one to each replica.
    runs = [in_thread(summary) for _ in range(2)]
    time.sleep(1.5)  # both are at a replica, waiting for their first page
    stack.replicas[0].kill()
    api.faults = Faults()  # the survivor's later pages come at once
    for thread, _ in runs:
        thread.join(60)
    statuses = sorted(result["value"][0] for _, result in runs)
    assert statuses == [200, 503]
    counted = next(body for status, body in (r["value"] for _, r in runs) if status == 200)
    assert json.loads(counted)["count"] == len(contacts_for(ORG))
    summaries = [line for line in stack.access_log() if "summary.json" in line["uri"]]
    assert len(summaries) == 2
    assert all("," not in line["upstream"] for line in summaries), summaries


def test_the_request_id_is_nginxs_unless_the_client_sent_a_valid_one(stack):
    session = stack.session()
    own = session.get(stack.path("/accounts/login/"), timeout=30)
    kept = session.get(
        stack.path("/accounts/login/"), headers={"X-Request-ID": "desk-ticket-42"}, timeout=30
    )
    replaced = session.get(
        stack.path("/accounts/login/"), headers={"X-Request-ID": "not valid!"}, timeout=30
    )
    assert re.fullmatch(r"[0-9a-f]{32}", own.headers["X-Request-ID"])  # nginx's $request_id
    assert kept.headers["X-Request-ID"] == "desk-ticket-42"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    # nginx logs the id the dashboard answered with, and the path without its query string.
    wanted = [f"request_id={r.headers['X-Request-ID']} " for r in (own, kept, replaced)]
    deadline = time.monotonic() + 10  # nginx writes the line as the request ends
    while True:
        logged = "\n".join(stack.dashboard_access_log())
        if all(w in logged for w in wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for line in wanted:
        assert line in logged
    assert '"GET /accounts/login/ HTTP/' in logged


def test_a_scrape_passes_the_proxy_with_its_token(base, api):
    token = "proxy-scrape-" + "t" * 24
    with proxied(base, api.base_url, env={"DASHBOARD_METRICS_TOKEN": token}) as running:
        session = running.session()
        url = running.path("/metrics")
        scrape = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert scrape.status_code == 200
        assert "contactship_requests_total" in scrape.text
        assert session.get(url, timeout=10).status_code == 404
        wrong = session.get(url, headers={"Authorization": "Bearer no"}, timeout=10)
        assert wrong.status_code == 404
