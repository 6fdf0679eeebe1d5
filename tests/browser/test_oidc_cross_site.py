"""Sign-in with the identity provider in a cross-site frame, with third-party cookies blocked.

The deployment of test_embed_cookies (the intranet https://intranet.example:PORT/ framing the
dashboard https://dashboard.test:PORT/ through nginx, Chromium blocking third-party cookies), with
the dashboard signing people in with the demo identity provider, on plain HTTP on loopback. The
provider's pages open in a window of their own (a first-party one: its cookies are not the
frame's), and the frame, whose cookies live in the partitioned jar of the intranet's site, is
signed in by the one-time handoff when the window closes.

The two replicas share Redis, as several replicas must (docs/admins/replicas.md): the handoff
token is made by whichever replica ends the sign-in in the window and taken by whichever answers
the frame.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from contacts.demo.data import DEMO_ORGANISATIONS
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.support import ROW_LINKS
from tests.browser.test_embed_cookies import (
    INTRANET,
    ORG,
    blocking_browser,  # noqa: F401 - the fixture, used by name
    cross_site_proxy,
    show_third_party_cookies_blocked,
)
from tests.live import HOST
from tests.support import ROOT, redis_server

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

GROUP = "harbor-team"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A redis-server of the test's own, on a free loopback port."""
    server = shutil.which("redis-server")
    if server is None:
        why = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("DASHBOARD_REDIS_TESTS") == "1":
            pytest.fail(f"DASHBOARD_REDIS_TESTS=1 but {why}", pytrace=False)
        pytest.skip(why)
    with redis_server(tmp_path_factory.mktemp("redis"), host=HOST) as url:
        yield url


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The demo identity provider, plain HTTP on loopback, with ana in GROUP: its issuer."""
    process = subprocess.Popen(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "contacts.demo.oidc_provider",
            "--host",
            HOST,
            "--port",
            "0",
            "--user",
            "ana=" + json.dumps({"email": "ana@example.org", "groups": [GROUP]}),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # "OIDC provider on http://127.0.0.1:N": the issuer the dashboard is given, as make run
        # gives it (the dashboard's redirect URI, https through nginx, it builds itself).
        yield process.stdout.readline().split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def oidc_embedded(chromium, provider, redis_url) -> Iterator[int]:
    """The cross-site deployment, signing in with the provider: nginx's port."""
    env = {
        "DASHBOARD_OIDC_ISSUER": provider,
        "DASHBOARD_OIDC_CLIENT_ID": "contacts-dashboard",
        "DASHBOARD_OIDC_CLIENT_SECRET": "cross-site-test-secret",
        "DASHBOARD_OIDC_NAME": "Intranet",
        "DASHBOARD_GROUP_MEMBERSHIPS": json.dumps({GROUP: [ORG]}),
        "REDIS_URL": redis_url,
    }
    with cross_site_proxy(env) as (_running, port):
        yield port


def test_the_cross_site_frame_signs_in_through_a_window_of_its_own(
    oidc_embedded,
    blocking_browser,  # noqa: F811 - the fixture imported above
):
    port = oidc_embedded
    context = blocking_browser.new_context(
        ignore_https_errors=True, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"https://{INTRANET}:{port}/")
        show_third_party_cookies_blocked(blocking_browser, page, port)

        frame = page.frame_locator("#dashboard")
        expect(frame.get_by_role("heading", name="Log in")).to_be_visible()
        with context.expect_page() as opened:
            frame.get_by_role("link", name="Sign in with Intranet").click()
        popup = opened.value
        popup.get_by_role("button", name="Authorize as ana").click()
        if not popup.is_closed():
            popup.wait_for_event("close")

        # The frame is signed in, on the page of the organisation ana's group gives her.
        name = DEMO_ORGANISATIONS[ORG].name
        expect(frame.get_by_role("heading", name=f"Contacts of {name}")).to_be_attached()
        expect(frame.get_by_label("Name")).to_be_visible()
        assert page.url == f"https://{INTRANET}:{port}/"  # the intranet page never moved

        # ...and stays signed in on the next page in the frame: its own session cookie is kept.
        first = frame.locator(ROW_LINKS).first
        contact = first.inner_text().strip()
        first.click()
        expect(frame.get_by_role("heading", name=contact, exact=True)).to_be_visible()
        expect(frame.get_by_role("heading", name="Log in")).to_have_count(0)
    finally:
        context.close()
