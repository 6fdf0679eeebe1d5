"""No blank wait, in a real browser: against a Contactship that never answers, the search page
and the summary show themselves, saying "Asking Contactship…", within a second, then the
timeout's words; with the script and without it.

A page that asks again by a refresh (the summary; the search page without a script) keeps
showing while the browser waits for the answer, but the browser's own navigation then holds
back every look into the page. So the first look answers that refresh with "204 No Content"
(the browser stays on the page, as it does for a person until the answer comes), and a second
load lets the refresh through to the timeout."""

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STEADY, session_cookies
from tests.browser.support import WIDE, list_path, screenshot
from tests.live import LiveStack, live_stack

pytestmark = pytest.mark.browser

ORG = "org-tejo"
FIRST_PAINT = 1.0  # seconds
TIMEOUT = 3  # seconds: the dashboard's read timeout here (10 s by default)
LATE = (TIMEOUT + 6) * 1000  # ms: the timeout, and a busy machine
TOO_SLOW = "Contactship is taking too long"
SEARCH = list_path(ORG, "full_name=ana")
SUMMARY = f"/orgs/{ORG}/contacts/summary/?full_name=ana"


@pytest.fixture(scope="module")
def hanging_stack(chromium) -> Iterator[LiveStack]:
    env = {
        **STEADY,
        "CONTACTSHIP_READ_TIMEOUT": str(TIMEOUT),
        "CONTACTSHIP_DEADLINE": "5",
        "DASHBOARD_FIRST_PAINT_SECONDS": "0.3",  # the default, which live stacks set longer
    }
    with live_stack(demo_args=["--hang"], org_ids=[ORG], env=env) as running:
        yield running


@pytest.fixture
def open_page(new_page, hanging_stack):
    cookies = session_cookies(hanging_stack)

    def make(script: bool):
        return new_page(viewport=WIDE, cookies=cookies, java_script_enabled=script)

    return make


def shown_at_once(page, url: str, *, refreshes: bool, name: str) -> None:
    """Open `url`; "Asking Contactship…" must show within FIRST_PAINT."""
    if refreshes:
        page.route(re.compile(r"[?&]wait=1"), lambda route: route.fulfill(status=204))
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    expect(page.get_by_text("Asking Contactship…").first).to_be_visible(timeout=FIRST_PAINT * 1000)
    took = time.monotonic() - started
    assert took < FIRST_PAINT, took
    screenshot(page, name)
    if refreshes:
        page.unroute_all()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no script"])
def test_the_search_page_shows_itself_then_the_timeout(open_page, hanging_stack, script):
    page = open_page(script)
    url = hanging_stack.url(SEARCH)
    name = f"first-paint-search-{'script' if script else 'no-script'}"
    shown_at_once(page, url, refreshes=not script, name=name)
    # The form is there, to change the search while Contactship is asked.
    expect(page.get_by_label("Name")).to_have_value("ana")
    if script:
        # htmx asks for the results region: the error takes it; the address stays the search's.
        expect(page.locator("#results .upstream-alert")).to_contain_text(TOO_SLOW, timeout=LATE)
        assert page.url == url
    else:
        expect(page.get_by_role("link", name="Show the results")).to_be_visible()
        page.goto(url, wait_until="commit")  # the refresh let through this time
        expect(page.locator(".upstream-alert")).to_contain_text(TOO_SLOW, timeout=LATE)
        assert page.url == url + "&wait=1"
    expect(page.get_by_text("Asking Contactship…").first).to_be_hidden()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no script"])
def test_the_summary_shows_itself_then_the_timeout(open_page, hanging_stack, script):
    page = open_page(script)
    url = hanging_stack.url(SUMMARY)
    name = f"first-paint-summary-{'script' if script else 'no-script'}"
    shown_at_once(page, url, refreshes=True, name=name)
    expect(page.get_by_role("link", name="Stop")).to_be_visible()
    expect(page.get_by_role("link", name="Show the summary")).to_be_visible()
    page.goto(url, wait_until="commit")
    expect(page.get_by_role("heading", name=TOO_SLOW)).to_be_visible(timeout=LATE)
