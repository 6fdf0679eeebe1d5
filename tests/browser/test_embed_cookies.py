"""The dashboard in a cross-site frame, with Chromium blocking third-party cookies.

The intranet page is https://intranet.example:PORT/ and the dashboard https://dashboard.test:PORT/
(two registrable domains: two sites), both served by nginx over TLS (the dashboard through
deploy/nginx/dashboard.conf.template, in front of two replicas; see tests/proxy.py), with
Chromium resolving both names to loopback. Third-party cookies are blocked
(--test-third-party-cookie-phaseout), and the test first shows that they really are: a frame
of a third site cannot keep an ordinary SameSite=None cookie, only a partitioned one.
"""

import csv
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from contacts.demo.server import serve_in_thread
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.browser.support import ROW_LINKS
from tests.live import free_port
from tests.proxy import USERNAME, Proxied, proxied, proxy_base, require_nginx

pytestmark = pytest.mark.browser

DASHBOARD, INTRANET, PROBE = "dashboard.test", "intranet.example", "cookies.test"
ORG = "org-harbor"

# The intranet page and a third site that sets one ordinary and one partitioned cookie, served
# by the same nginx on the same port (by name, through TLS's SNI).
EXTRA = """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {intranet};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location = / {{
            default_type text/html;
            return 200 '<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Intranet</title></head><body><h1>Intranet</h1>
<iframe id="dashboard" src="https://{dashboard}:{port}/orgs/{org}/contacts/" title="Contacts"
 width="1000" height="700" sandbox="allow-scripts allow-same-origin allow-forms allow-downloads
 allow-popups allow-popups-to-escape-sandbox"></iframe>
<iframe id="probe" src="https://{probe}:{port}/set" title="Probe"></iframe></body></html>';
        }}
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {probe};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        default_type text/plain;
        location = /set {{
            add_header Set-Cookie "ordinary=1; Path=/; Secure; SameSite=None";
            add_header Set-Cookie "partitioned=1; Path=/; Secure; SameSite=None; Partitioned";
            return 200 "set";
        }}
        location = /show {{
            return 200 "cookies: $http_cookie";
        }}
    }}
"""


@contextmanager
def cross_site_proxy(env: Mapping[str, str] | None = None) -> Iterator[tuple[Proxied, int]]:
    """The dashboard behind nginx, framed by the intranet page, beside the probe's third site;
    `env`: more environment for the replicas. Yields the running proxy and nginx's port."""
    require_nginx()
    port = free_port()
    names = (DASHBOARD, INTRANET, PROBE)
    replica_env = {
        "DJANGO_ALLOWED_HOSTS": DASHBOARD,
        "DASHBOARD_ORIGIN": f"https://{DASHBOARD}:{port}",
        "DASHBOARD_FRAME_ANCESTORS": f"https://{INTRANET}:{port}",
        **(env or {}),
    }
    with proxy_base(org_ids=[ORG], env=replica_env, names=names) as base:
        extra = EXTRA.format(
            port=port,
            intranet=INTRANET,
            dashboard=DASHBOARD,
            probe=PROBE,
            org=ORG,
            cert=base.cert,
            key=base.key,
        )
        with (
            serve_in_thread(base.keys()) as api,
            proxied(base, api.base_url, port=port, extra_http=extra) as running,
        ):
            yield running, port


@pytest.fixture(scope="module")
def embedded(chromium):
    with cross_site_proxy() as (running, port):
        yield running, port


@pytest.fixture(scope="module")
def blocking_browser(browser, chromium):
    """A second Chromium, blocking third-party cookies, resolving the test's names to loopback."""
    rules = ", ".join(f"MAP {name} 127.0.0.1" for name in (DASHBOARD, INTRANET, PROBE))
    # The package's Playwright, which already runs: a second one may not start in this thread.
    blocking = browser.browser_type.launch(
        executable_path=str(chromium),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--test-third-party-cookie-phaseout",
            f"--host-resolver-rules={rules}",
        ],
    )
    yield blocking
    blocking.close()


def show_third_party_cookies_blocked(browser, page, port: int) -> None:
    """Blocking is really on, on the intranet `page` (already open): the probe's ordinary
    cookie is a valid one, kept when its site is the page itself (in a context of `browser` of
    its own), but the probe's frame there kept its partitioned cookie only."""
    first_party = browser.new_context(ignore_https_errors=True)
    try:
        own = first_party.new_page()
        own.goto(f"https://{PROBE}:{port}/set")
        own.goto(f"https://{PROBE}:{port}/show")
        assert "ordinary=1" in own.locator("body").inner_text()
    finally:
        first_party.close()

    probe = page.frame_locator("#probe")
    expect(probe.locator("body")).to_have_text("set")
    page.locator("#probe").evaluate(f"f => f.src = 'https://{PROBE}:{port}/show'")
    expect(probe.locator("body")).to_contain_text("cookies:")
    sent = probe.locator("body").inner_text()
    assert "partitioned=1" in sent
    assert "ordinary=1" not in sent, sent


def test_log_in_search_and_download_in_a_cross_site_frame_with_third_party_cookies_blocked(
    embedded, blocking_browser, tmp_path
):
    running, port = embedded
    context = blocking_browser.new_context(
        ignore_https_errors=True, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"https://{INTRANET}:{port}/")
        show_third_party_cookies_blocked(blocking_browser, page, port)

        # The dashboard in its frame: log in (the CSRF cookie must have been kept to get past
        # Django's CSRF check), search, download.
        frame = page.frame_locator("#dashboard")
        expect(frame.get_by_role("heading", name="Log in")).to_be_visible()
        frame.get_by_label("Username").fill(USERNAME)
        frame.get_by_label("Password").fill(running.base.password)
        frame.get_by_role("button", name="Log in").click()
        expect(frame.locator(ROW_LINKS).first).to_be_visible()

        frame.get_by_label("Name").fill("an")
        expect(frame.locator("#result-summary")).to_contain_text("matching your search")
        expected = [c["id"] for c in matches(ORG, full_name="an")]
        with page.expect_download() as download_info:
            frame.get_by_role("link", name="Download CSV").click()
        target = tmp_path / "export.csv"
        download_info.value.save_as(target)
        rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"), newline="")))
        assert [row[0] for row in rows[1:]] == expected

        # Its cookies are partitioned: kept for this intranet site, under the dashboard's name.
        cookies = {c["name"]: c for c in context.cookies(f"https://{DASHBOARD}:{port}/")}
        assert {"sessionid", "csrftoken"} <= set(cookies)
    finally:
        context.close()
