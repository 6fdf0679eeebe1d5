"""The blocked-cookie page, met the way people meet it: a browser that really withholds the
dashboard's cookies.

The dashboard is http://dashboard.test:PORT/ and the intranet page that frames it
http://intranet.example:PORT/ (two sites; Chromium resolves both names to loopback). Framed by
another site, the dashboard's cookies must be `SameSite=None`, which browsers take only with
`Secure` (dashboard/settings/security.py), and a `Secure` cookie set over plain HTTP is refused:
so the login form's CSRF cookie is never kept and its POST comes back without it, as in a browser
that blocks third-party cookies. The test first shows that the cookie really was refused.
"""

import http.server
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS, ORG_IDS, TIMEOUT_MS, FramerHandler
from tests.browser.support import SIDEBAR, WIDE, screenshot, serious_violations
from tests.live import HOST, live_stack

pytestmark = pytest.mark.browser

DASHBOARD, INTRANET = "dashboard.test", "intranet.example"
HEADING = {
    "en": "Your browser did not send the dashboard's cookie",
    "es": "Su navegador no envió la cookie del panel",
}
NEW_TAB = {"en": "Open the dashboard in a new tab", "es": "Abrir el panel en una pestaña nueva"}


@pytest.fixture(scope="module")
def cross_site(chromium):
    """The dashboard, allowed to be framed by the intranet page of another site, both on HTTP:
    yields (the dashboard's origin, the intranet page's URL)."""
    intranet = http.server.ThreadingHTTPServer((HOST, 0), FramerHandler)
    intranet.framed_url = "about:blank"
    thread = threading.Thread(target=intranet.serve_forever, daemon=True)
    thread.start()
    intranet_origin = f"http://{INTRANET}:{intranet.server_address[1]}"
    env = {
        "DJANGO_ALLOWED_HOSTS": f"{DASHBOARD},{HOST}",
        "DASHBOARD_ORIGIN": f"http://{DASHBOARD}",
        "DASHBOARD_FRAME_ANCESTORS": intranet_origin,
    }
    try:
        with live_stack(org_ids=ORG_IDS[:1], env=env) as running:
            port = urlsplit(running.dashboard_url).port
            origin = f"http://{DASHBOARD}:{port}"
            intranet.framed_url = f"{origin}/orgs/{ORG_IDS[0]}/contacts/"
            yield running, origin, intranet_origin + "/"
    finally:
        intranet.shutdown()
        intranet.server_close()


@pytest.fixture(scope="module")
def named_browser(browser, chromium):
    """A second Chromium that resolves the test's names to loopback (default cookie rules)."""
    rules = ", ".join(f"MAP {name} {HOST}" for name in (DASHBOARD, INTRANET))
    # The package's Playwright, which already runs: a second one may not start in this thread.
    named = browser.browser_type.launch(
        executable_path=str(chromium),
        headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"],
    )
    yield named
    named.close()


@pytest.fixture
def new_context(named_browser):
    contexts = []

    def make(**options):
        options.setdefault("locale", "en-US")
        options.setdefault("color_scheme", "light")
        context = named_browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def test_a_framed_login_whose_cookie_the_browser_refuses_gets_a_page_that_explains(
    cross_site, new_context
):
    running, origin, intranet_url = cross_site
    context = new_context(viewport={"width": 420, "height": 760})
    page = context.new_page()
    page.goto(intranet_url)
    frame = page.frame_locator("iframe")
    frame.get_by_label("Username").fill(running.username)
    frame.get_by_label("Password").fill(running.password)
    # The login page set its CSRF cookie, and the browser kept none: nothing to send back.
    assert context.cookies(origin + "/") == []

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        frame.get_by_role("button", name="Log in").click()
    assert answer.value.status == 403
    assert answer.value.url.startswith(origin + "/accounts/login/")
    expect(frame.get_by_role("heading", name=HEADING["en"])).to_be_visible()
    expect(frame.locator("body")).not_to_contain_text("CSRF verification failed")
    expect(frame.locator("body")).to_contain_text("third-party cookies")
    screenshot(page, "after-blocked-cookie-framed-360")

    # The way out: the same page, in a tab of its own (with the full layout).
    link = frame.get_by_role("link", name=NEW_TAB["en"])
    assert link.get_attribute("target") == "_blank"
    href = link.get_attribute("href")
    assert urlsplit(href).path == urlsplit(answer.value.url).path == "/accounts/login/"
    with page.expect_popup() as popup_info:
        link.click()
    popup = popup_info.value
    assert popup.url.startswith(origin + "/accounts/login/")
    expect(popup.get_by_role("heading", name="Log in")).to_be_visible()
    expect(popup.locator("body")).not_to_have_class("embedded")


@pytest.mark.parametrize(
    "language, scheme", [("en", "light"), ("en", "dark"), ("es", "light"), ("es", "dark")]
)
def test_the_blocked_cookie_page_is_translated_and_passes_axe(
    cross_site, new_context, language, scheme
):
    running, origin, _ = cross_site
    context = new_context(
        locale="es-ES" if language == "es" else "en-US",
        color_scheme=scheme,
        viewport=SIDEBAR if scheme == "dark" else WIDE,
    )
    page = context.new_page()
    page.goto(origin + "/accounts/login/")
    page.locator("#id_username").fill(running.username)
    page.locator("#id_password").fill(running.password)
    assert context.cookies(origin + "/") == []  # refused here too: Secure, over plain HTTP
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("button.primary[type=submit]").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name=HEADING[language])).to_be_visible()
    expect(page.get_by_role("link", name=NEW_TAB[language])).to_have_attribute("target", "_blank")
    assert not serious_violations(page)
    if language == "es" and scheme == "light":
        screenshot(page, "after-blocked-cookie-es-1280x800")
