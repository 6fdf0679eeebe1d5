"""Sign-in with the identity provider inside the intranet's frame: the provider's pages open in
a window of their own, and the frame is signed in when it closes."""

import http.server
import json
import subprocess
import sys
import threading
from contextlib import ExitStack

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, Framer, FramerHandler
from tests.browser.support import WIDE, screenshot, serious_violations
from tests.live import HOST, live_stack
from tests.support import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def oidc_stack(chromium):
    with ExitStack() as cleanup:
        provider = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "contacts.demo.oidc_provider",
                "--port",
                "0",
                "--user",
                'ana={"email": "ana@example.org", "groups": ["harbor"]}',
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        cleanup.callback(provider.wait, timeout=10)
        cleanup.callback(provider.terminate)
        issuer = provider.stdout.readline().split()[-1]
        framer = http.server.ThreadingHTTPServer((HOST, 0), FramerHandler)
        framer.framed_url = "about:blank"
        threading.Thread(target=framer.serve_forever, daemon=True).start()
        cleanup.callback(framer.server_close)
        cleanup.callback(framer.shutdown)
        env = {
            "DASHBOARD_FRAME_ANCESTORS": Framer.origin(framer),
            "DASHBOARD_OIDC_ISSUER": issuer,
            "DASHBOARD_OIDC_CLIENT_ID": "contacts-dashboard",
            "DASHBOARD_OIDC_CLIENT_SECRET": "browser-test-secret",
            "DASHBOARD_OIDC_NAME": "Intranet",
            "DASHBOARD_GROUP_MEMBERSHIPS": json.dumps({"harbor": ["org-harbor"]}),
        }
        running = cleanup.enter_context(live_stack(org_ids=["org-harbor"], env=env))
        framer.framed_url = running.url("/orgs/org-harbor/contacts/")
        yield Framer.origin(framer)


def test_the_frame_signs_in_through_a_window_of_its_own(browser, oidc_stack):
    context = browser.new_context(viewport=WIDE, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(oidc_stack + "/")
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", name="Log in")).to_be_visible()
        expect(frame.get_by_text("opens in a window of its own")).to_be_visible()
        with page.expect_popup() as opened:
            frame.get_by_role("link", name="Sign in with Intranet").click()
        popup = opened.value
        popup.get_by_role("button", name="Authorize as ana").click()
        if not popup.is_closed():
            popup.wait_for_event("close")
        # The frame, signed in, shows the organisation it was asked for.
        expect(frame.locator("body")).to_have_class("embedded")
        expect(frame.get_by_label("Name")).to_be_visible()
        assert page.url.startswith(oidc_stack)  # the intranet page itself never moved
    finally:
        context.close()


def test_the_login_page_with_the_provider_has_no_serious_violations(browser, oidc_stack):
    context = browser.new_context(viewport=WIDE, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(oidc_stack + "/")
        login = page.frames[1]
        login.wait_for_load_state()
        # The login page on its own (not framed): the button leads, the password form follows.
        direct = context.new_page()
        direct.goto(login.url.split("?")[0])
        expect(direct.get_by_role("link", name="Sign in with Intranet")).to_be_visible()
        expect(direct.get_by_label("Password")).to_be_visible()
        assert serious_violations(direct) == []
        screenshot(direct, "login-with-provider")
    finally:
        context.close()
