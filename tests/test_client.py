"""The client: caching, paging guards and the rare paths the demo API cannot produce."""

import logging
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses

from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.demo.data import matches
from contacts.upstream.attempt import Failure
from contacts.upstream.client import contactship_client
from contacts.upstream.config import ClientConfig
from contacts.upstream.errors import (
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from contacts.upstream.organisations import organisation_get
from contacts.upstream.retry import RetryPolicy
from contacts.upstream.transport import environment
from tests.conftest import KEYS, upstream_lines

FAKE_URL = "https://contactship.test/v1"


def test_a_page_comes_back_typed(upstream):
    page = contactship_client().contact_list(
        organisation=organisation_get("org-tejo"), query=ContactQuery(full_name="ana")
    )
    assert all(isinstance(c, Contact) for c in page)
    assert [c.id for c in page] == [c["id"] for c in matches("org-tejo", full_name="ana")[:100]]


def test_identical_requests_come_from_the_cache_and_refresh_bypasses_it(upstream, caplog):
    caplog.set_level(logging.INFO, "contacts")
    client = contactship_client()
    org = organisation_get("org-harbor")
    first = client.contact_list(organisation=org, query=ContactQuery(email="a"))
    second = client.contact_list(organisation=org, query=ContactQuery(email="a"))
    fresh = client.contact_list(organisation=org, query=ContactQuery(email="a"), refresh=True)
    assert first == second == fresh
    assert [line["cache"] for line in upstream_lines(caplog)] == ["miss", "hit", "refresh"]
    # Another organisation or other filters are other entries.
    client.contact_list(organisation=organisation_get("org-tejo"), query=ContactQuery(email="a"))
    client.contact_list(organisation=org, query=ContactQuery(email="b"))
    assert [line["cache"] for line in upstream_lines(caplog)][-2:] == ["miss", "miss"]


def test_a_cache_outage_falls_back_to_direct_calls(upstream, settings, caplog):
    # Changing CACHES resets Django's cache handlers: the next call meets a dead Redis.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
        }
    }
    page = contactship_client().contact_list(
        organisation=organisation_get("org-harbor"), query=ContactQuery()
    )
    assert len(page) == 100
    assert "cache unavailable, asking upstream" in caplog.text
    assert "cache unavailable, result not kept" in caplog.text


def test_log_line_names_org_path_params_status_time_attempt_and_cache(upstream, caplog):
    caplog.set_level(logging.INFO, "contacts")
    contactship_client().contact_list(
        organisation=organisation_get("org-tejo"), query=ContactQuery(full_name="ana"), offset=100
    )
    (line,) = upstream_lines(caplog)
    assert line["org"] == "org-tejo"
    assert line["path"] == "/contacts"
    # the filter's name, not what the person typed into it
    assert line["params"] == {"full_name": "<typed>", "limit": 100, "offset": 100}
    assert line["status"] == "200"
    assert line["attempt"] == 1
    assert line["cache"] == "miss"
    assert isinstance(line["ms"], int)
    assert 'params={"full_name": "<typed>", "limit": 100, "offset": 100} status=200' in caplog.text
    assert "ana" not in caplog.text


def test_paging_parameter_names_are_settings(upstream, settings, caplog):
    settings.CONTACTSHIP_LIMIT_PARAM = "per_page"
    settings.CONTACTSHIP_OFFSET_PARAM = "skip"
    contactship_client().contact_list(
        organisation=organisation_get("org-harbor"), query=ContactQuery(), offset=100
    )
    assert upstream_lines(caplog)[0]["params"] == {"per_page": 100, "skip": 100}


# --- paths the demo cannot produce ------------------------------------------------------------


@pytest.fixture
def fake(settings):
    settings.CONTACTSHIP_API_URL = FAKE_URL
    settings.CONTACTSHIP_ORGANISATIONS = {"org-x": {"name": "X", "api_key": KEYS["org-harbor"]}}
    settings.CONTACTSHIP_BACKOFF = 0.01
    settings.CONTACTSHIP_RETRY_AFTER_CAP = 1
    with responses.RequestsMock() as mock:
        yield mock


def call():
    return contactship_client().contact_list(
        organisation=organisation_get("org-x"), query=ContactQuery()
    )


def test_retry_after_as_an_http_date_is_honoured(fake):
    fake.get(
        f"{FAKE_URL}/contacts",
        status=429,
        headers={"Retry-After": formatdate(usegmt=True)},  # "now": no wait needed
    )
    fake.get(f"{FAKE_URL}/contacts", json=[])
    assert call() == []


def test_a_retry_after_beyond_the_cap_is_not_waited(fake):
    fake.get(f"{FAKE_URL}/contacts", status=429, headers={"Retry-After": "120"})
    with pytest.raises(UpstreamRateLimited) as raised:
        call()
    assert raised.value.retry_after == 120
    assert len(fake.calls) == 1


def test_a_redirect_is_not_followed_so_the_key_cannot_travel(fake):
    fake.get(
        f"{FAKE_URL}/contacts", status=302, headers={"Location": "https://elsewhere.test/steal"}
    )
    with pytest.raises(UpstreamBadResponse):
        call()
    assert len(fake.calls) == 1


def test_a_reset_connection_is_retried(fake):
    fake.get(f"{FAKE_URL}/contacts", body=requests.ConnectionError("reset"))
    fake.get(f"{FAKE_URL}/contacts", json=[{"id": "a"}])
    assert [c.id for c in call()] == ["a"]


def test_500_is_not_retried_but_502_is(fake):
    fake.get(f"{FAKE_URL}/contacts", status=500)
    with pytest.raises(UpstreamUnavailable):
        call()
    assert len(fake.calls) == 1


def test_a_read_timeout_is_a_timeout_and_not_retried(fake):
    fake.get(f"{FAKE_URL}/contacts", body=requests.ReadTimeout("slow"))
    with pytest.raises(UpstreamTimeout):
        call()
    assert len(fake.calls) == 1


def test_the_deadline_bounds_the_whole_call(fake, settings):
    settings.CONTACTSHIP_DEADLINE = 0.2
    settings.CONTACTSHIP_RETRIES = 50
    fake.get(f"{FAKE_URL}/contacts", status=503, headers={"Retry-After": "1"})
    with pytest.raises(UpstreamUnavailable):
        call()
    assert len(fake.calls) == 1  # waiting 1 s would pass the deadline


def test_a_404_on_the_list_means_a_wrong_base_url(fake):
    fake.get(f"{FAKE_URL}/contacts", status=404)
    with pytest.raises(UpstreamBadResponse):
        call()


def test_the_key_goes_in_the_header_and_nowhere_else(fake):
    fake.get(f"{FAKE_URL}/contacts", json=[])
    call()
    sent = fake.calls[0].request
    assert sent.headers["x-api-key"] == KEYS["org-harbor"]
    assert KEYS["org-harbor"] not in sent.url
    assert sent.headers["User-Agent"].startswith("contacts-dashboard/")


class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP proxy: GET with an absolute URL, forwarded as it came, remembered."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("x-api-key")))
        forwarded = {"x-api-key": self.headers["x-api-key"], "Accept": "application/json"}
        with requests.get(self.path, headers=forwarded, timeout=5, proxies={"http": ""}) as answer:
            body = answer.content
            self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _ForwardingProxy.seen = []
    environment.cache_clear()
    yield f"http://127.0.0.1:{server.server_port}", _ForwardingProxy.seen
    environment.cache_clear()
    server.shutdown()
    server.server_close()


def test_the_environment_proxy_carries_the_calls(upstream, proxy, monkeypatch):
    address, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", address)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    page = contactship_client().contact_list(
        organisation=organisation_get("org-tejo"), query=ContactQuery(full_name="ana")
    )
    assert [c.id for c in page] == [c["id"] for c in matches("org-tejo", full_name="ana")[:100]]
    assert len(seen) == 1
    url, key = seen[0]
    assert url.startswith(upstream.base_url + "/contacts?")
    assert key == KEYS["org-tejo"]


def test_no_proxy_in_the_environment_sends_calls_directly(upstream, proxy, monkeypatch):
    address, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", address)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    page = contactship_client().contact_list(
        organisation=organisation_get("org-tejo"), query=ContactQuery(full_name="ana")
    )
    assert len(page) == 100
    assert seen == []


def test_the_ca_bundle_of_the_environment_is_used(monkeypatch):
    environment.cache_clear()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/example-bundle.pem")
    try:
        assert environment(FAKE_URL)["verify"] == "/etc/ssl/certs/example-bundle.pem"
    finally:
        environment.cache_clear()


# --- the retry policy -------------------------------------------------------------------------


def failure(status: int | None = None, *, transient: bool = False, retry_after=None) -> Failure:
    error = UpstreamUnavailable("x", retry_after=retry_after)
    return Failure(str(status), error, status=status, transient=transient)


def test_a_scans_policy_retries_500_and_a_page_views_does_not(settings):
    deadline = time.monotonic() + 60
    pages = RetryPolicy.for_pages(ClientConfig.from_settings())
    scans = RetryPolicy.for_scans(ClientConfig.from_settings())
    assert pages.wait(1, failure(500), deadline) is None
    assert scans.wait(1, failure(500), deadline) is not None
    for status in (429, 502, 503, 504):
        assert pages.wait(1, failure(status), deadline) is not None
        assert scans.wait(1, failure(status), deadline) is not None
    for status in (400, 401, 404, 501):
        assert scans.wait(1, failure(status), deadline) is None
    assert scans.wait(1, failure(transient=True), deadline) is not None
    assert scans.wait(1, failure(), deadline) is None  # a read timeout, a body too large


def test_the_backoff_doubles_with_jitter_and_stops_at_the_attempts_and_the_deadline():
    policy = RetryPolicy(frozenset({500}), retries=3, backoff=0.1, retry_after_cap=1)
    far = time.monotonic() + 60
    waits = [[policy.wait(n, failure(500), far) for _ in range(200)] for n in (1, 2, 3)]
    for n, seen in enumerate(waits, 1):
        assert all(0 <= w <= 0.1 * 2 ** (n - 1) for w in seen)
        assert len(set(seen)) > 100  # jittered, so retries of many callers spread out
    assert max(waits[2]) > 0.2  # the third waits up to 0.4
    assert policy.wait(4, failure(500), far) is None
    # A wait that would end past the deadline is not started.
    assert policy.wait(1, failure(500, retry_after=0.5), time.monotonic() + 0.3) is None
    assert policy.wait(1, failure(500, retry_after=0.5), far) >= 0.5
    assert policy.wait(1, failure(500, retry_after=2), far) is None  # beyond the cap
