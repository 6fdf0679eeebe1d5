"""The browser suite: Debian's Chromium, driven by Playwright, against the real stack on loopback.

Chromium is the system's (`apt-get install chromium`, at /usr/bin/chromium); Playwright's own
browser download is never used. Whether the suite runs:

- Chromium present: it runs (so `make test` runs it wherever Chromium is installed).
- Chromium missing, DASHBOARD_BROWSER_TESTS unset: every browser test is skipped, saying how to
  enable them.
- Chromium missing, DASHBOARD_BROWSER_TESTS=1 (CI sets it): every browser test fails.
- DASHBOARD_BROWSER_TESTS=0: skipped even with Chromium present.

Everything here lives for this package only ("package" scope): Playwright's sync API keeps an
event loop on the main thread while it runs, which Django's ORM in the later test modules would
take for an async context. The stacks (demo API + gunicorn, see tests/live.py) start on first use:
`stack` is the healthy one, allowed to be framed by `framer`'s origin; `failing_stack` has an
upstream that fails from the second page on.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, ENABLE_VARIABLE, WIDE, browser_gate
from tests.live import HOST, LiveStack, live_stack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ORG_IDS = ["org-tejo", "org-harbor"]  # small organisations: the demo API starts faster
TIMEOUT_MS = 10_000


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium() -> Path:
    """The Chromium binary; skips or fails the suite as DASHBOARD_BROWSER_TESTS says."""
    present = CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)
    verdict, why = browser_gate(os.environ.get(ENABLE_VARIABLE), present, CHROMIUM)
    if verdict == "fail":
        pytest.fail(why, pytrace=False)
    if verdict == "skip":
        pytest.skip(why)
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# --- the stacks ----------------------------------------------------------------------------------


class FramerHandler(http.server.BaseHTTPRequestHandler):
    """An intranet page of another origin that frames the dashboard (docs/admins/embedding.md)."""

    def do_GET(self) -> None:
        src = self.server.framed_url  # set once the dashboard is up
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Intranet</title>'
            "</head><body><h1>Intranet</h1>"
            f'<iframe src="{src}" title="Contacts" width="360" height="640" '
            'sandbox="allow-scripts allow-same-origin allow-forms allow-downloads allow-popups '
            'allow-popups-to-escape-sandbox"></iframe></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


@dataclass
class Framer:
    allowed: http.server.HTTPServer  # its origin is in DASHBOARD_FRAME_ANCESTORS
    unlisted: http.server.HTTPServer  # its origin is not
    servers: list = field(default_factory=list)

    @staticmethod
    def origin(server: http.server.HTTPServer) -> str:
        return f"http://{HOST}:{server.server_address[1]}"

    def point_at(self, url: str) -> None:
        for server in (self.allowed, self.unlisted):
            server.framed_url = url


@pytest.fixture(scope="package")
def framer() -> Iterator[Framer]:
    servers = []
    with ExitStack() as cleanup:
        for _ in range(2):
            server = http.server.ThreadingHTTPServer((HOST, 0), FramerHandler)
            server.framed_url = "about:blank"
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            cleanup.callback(server.server_close)
            cleanup.callback(server.shutdown)
            servers.append(server)
        yield Framer(allowed=servers[0], unlisted=servers[1])


@pytest.fixture(scope="package")
def stack(chromium, framer) -> Iterator[LiveStack]:
    env = {"DASHBOARD_FRAME_ANCESTORS": Framer.origin(framer.allowed)}
    with live_stack(org_ids=ORG_IDS, env=env) as running:
        framer.point_at(running.url("/orgs/org-harbor/contacts/"))
        yield running


@pytest.fixture(scope="package")
def failing_stack(chromium) -> Iterator[LiveStack]:
    """Contactship answers the first page of org-harbor, then 500 from offset 100 on.

    So the search page opens, and its page 2 is "Contactship is not answering" (503), whether
    asked by a page load or by htmx. No retries, and no circuit breaker, keep it quick and
    repeatable.
    """
    env = {"CONTACTSHIP_RETRIES": "0", "CONTACTSHIP_BREAKER_THRESHOLD": "1000"}
    with live_stack(
        demo_args=["--fail-from-offset", "100"], org_ids=["org-harbor"], env=env, threads=2
    ) as running:
        yield running


def session_cookies(running: LiveStack) -> list[dict]:
    """Cookies of a session logged in through the login form, for a browser context."""
    session = running.login()
    url = running.dashboard_url
    return [{"name": c.name, "value": c.value, "url": url} for c in session.cookies]


@pytest.fixture(scope="package")
def login_cookies(stack) -> list[dict]:
    return session_cookies(stack)


# --- pages ---------------------------------------------------------------------------------------


@dataclass
class PageProblems:
    """What a page said went wrong in the browser: CSP refusals, script errors."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page, expected: tuple[str, ...] = ()) -> None:
        def on_console(message) -> None:
            text = message.text
            # An error status of the page itself is the point of some tests, not a problem.
            ignored = ("Failed to load resource: the server responded with a status of", *expected)
            if message.type == "error" and not any(part in text for part in ignored):
                self.console.append(text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))


@pytest.fixture
def new_page(browser, stack, login_cookies) -> Iterator[Callable]:
    """Make a page in a fresh browser context: `new_page(viewport=..., color_scheme=...)`.

    Logged in as the stack's superuser unless `logged_in=False` (or as `cookies` say); English,
    light and 1280×800 unless the options say otherwise. At the end, any Content-Security-Policy
    refusal or script error fails the test, except console errors containing `expected_console`.
    """
    contexts = []
    problems = PageProblems()

    def make(
        *,
        logged_in: bool = True,
        cookies: list[dict] | None = None,
        expected_console: tuple[str, ...] = (),
        **options,
    ):
        options.setdefault("viewport", WIDE)
        options.setdefault("locale", "en-US")
        options.setdefault("color_scheme", "light")
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if cookies is not None:
            context.add_cookies(cookies)
        elif logged_in:
            context.add_cookies(login_cookies)
        page = context.new_page()
        problems.watch(page, expected_console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.errors, f"script errors: {problems.errors}"
    assert not problems.console, f"console errors (CSP?): {problems.console}"


@pytest.fixture
def page(new_page):
    """A logged-in English page, 1280×800, light."""
    return new_page()


# Stacks with a slow or faulty Contactship, for what a person meets on its bad days (org-tejo
# alone: 2,345 contacts, quick to start). No retries and no circuit breaker: quick, repeatable.
STEADY = {"CONTACTSHIP_RETRIES": "0", "CONTACTSHIP_BREAKER_THRESHOLD": "1000"}


@pytest.fixture(scope="package")
def slow_stack(chromium) -> Iterator[LiveStack]:
    """Every answer of Contactship takes 1.5 s, none cached: each search is in flight long
    enough to click while it is."""
    env = {**STEADY, "CONTACTSHIP_CACHE_TTL": "0"}
    with live_stack(demo_args=["--latency-ms", "1500"], org_ids=["org-tejo"], env=env) as running:
        yield running


@pytest.fixture(scope="package")
def failing_late_stack(chromium) -> Iterator[LiveStack]:
    """Contactship answers 500 from offset 300 on: page 4 fails, an export fails after 300 rows."""
    with live_stack(
        demo_args=["--fail-from-offset", "300", "--latency-ms", "200"],
        org_ids=["org-tejo"],
        env=STEADY,
    ) as running:
        yield running


@pytest.fixture(scope="package")
def paging_ignored_stack(chromium) -> Iterator[LiveStack]:
    """Contactship ignores limit/offset: every page is the first."""
    with live_stack(demo_args=["--ignore-paging"], org_ids=["org-tejo"], env=STEADY) as running:
        yield running
