"""What you see is what you download: against a slow or faulty Contactship, in a real browser.

Each test replays one of the things a new user met: a download or a page
link clicked while the results on screen are not yet those of the form, a page past the end, a
page that fails or repeats the first, an export that takes a while or fails.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.conftest import session_cookies
from tests.browser.support import ROW_LINKS, ids, list_path, row_ids, screenshot

pytestmark = pytest.mark.browser

ORG = "org-tejo"
SLOW_MS = 1500  # the slow stack's latency per answer
# Long enough for a slow answer and a busy machine, short enough to fail rather than hang.
SLOW_TIMEOUT_MS = 30_000


def csv_ids(path) -> list[str]:
    text = path.read_bytes().decode("utf-8-sig")
    return [row[0] for row in list(csv.reader(io.StringIO(text, newline="")))[1:]]


def downloads_of(page) -> list:
    seen: list = []
    page.on("download", lambda download: seen.append(download))
    return seen


def results_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.headers.get("hx-request") else None)
    return seen


@pytest.fixture
def slow_page(new_page, slow_stack):
    page = new_page(cookies=session_cookies(slow_stack))
    page.set_default_timeout(SLOW_TIMEOUT_MS)
    return page


@pytest.fixture
def failing_page(new_page, failing_late_stack):
    page = new_page(cookies=session_cookies(failing_late_stack))
    page.set_default_timeout(SLOW_TIMEOUT_MS)
    return page


def expect_results_for(page, name: str, count: int) -> None:
    """The URL, the form, the summary, the table and both download links agree on `name`."""
    expect(page.locator("#stale-note")).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"\?full_name={name}$"))
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.locator("#result-summary")).to_contain_text(f"Contacts 1–{min(count, 100)}")
    for link in ("Download Excel", "Download CSV"):
        expect(page.get_by_role("link", name=link)).to_have_attribute(
            "href", re.compile(rf"\?full_name={name}(&progress=\w+)?$")
        )
        expect(page.get_by_role("link", name=link)).not_to_have_attribute("aria-disabled", "true")


# --- 1. a download is always of the search on screen -------------------------------------------


@pytest.mark.parametrize("when", ["inside the debounce", "while the search is in flight"])
def test_a_download_clicked_before_the_results_match_the_form_is_held(slow_page, slow_stack, when):
    page = slow_page
    page.goto(slow_stack.url(list_path(ORG)))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–100")
    downloads = downloads_of(page)

    page.get_by_label("Name").press_sequentially("mar", delay=20)
    if when == "while the search is in flight":
        page.wait_for_timeout(500)  # past the 300 ms pause: the search has been sent
        expect(page.locator(".loading")).to_be_visible()
    # A real mouse click, whatever the link's state says (force: no waiting for it).
    page.get_by_role("link", name="Download CSV").click(force=True)
    said_so = page.locator("#stale-note").is_visible()
    held = page.get_by_role("link", name="Download CSV").get_attribute("aria-disabled")
    screenshot(page, f"download-held-{when.replace(' ', '-')}")

    expected = matches(ORG, full_name="mar")
    expect_results_for(page, "mar", len(expected))
    page.wait_for_timeout(SLOW_MS)  # a held click must not turn into a download later
    assert downloads == [], "a download of the previous search started"
    assert said_so and held == "true", "the page did not say why the download waits"

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.failure() is None
    assert csv_ids(download.path()) == ids(expected)  # 248 contacts, not all 2,345


# --- 2. paging from results that are being replaced never overrides a newer search --------------


@pytest.mark.parametrize("when", ["inside the debounce", "while the search is in flight"])
def test_next_clicked_while_a_new_search_is_coming_is_held(slow_page, slow_stack, when):
    page = slow_page
    page.goto(slow_stack.url(list_path(ORG)))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–100")
    requests = results_requests(page)

    page.get_by_label("Name").press_sequentially("zzz", delay=20)
    if when == "while the search is in flight":
        page.wait_for_timeout(500)
        expect(page.locator(".loading")).to_be_visible()
    page.get_by_role("link", name="Next").click(force=True)
    said_so = page.locator("#stale-note").is_visible()

    expect(page.locator("#result-summary")).to_have_text("No contacts match these filters.")
    page.wait_for_timeout(SLOW_MS)
    assert not [url for url in requests if "page=2" in url], requests
    expect(page.locator("#result-summary")).to_have_text("No contacts match these filters.")
    expect(page).to_have_url(re.compile(r"\?full_name=zzz$"))
    expect(page.get_by_label("Name")).to_have_value("zzz")
    assert said_so, "the page did not say why paging waits"


# --- 3. a page past the end ---------------------------------------------------------------------


def test_a_page_past_the_end_leads_back_to_rows(page, stack):
    expected = ids(matches(ORG, full_name="ana"))  # 355: the last page with rows is 4
    assert 300 < len(expected) <= 400
    page.goto(stack.url(list_path(ORG, "full_name=ana&page=999999")))
    summary = page.locator("#result-summary")
    expect(summary).to_have_text("No more contacts: the results end on page 4.")
    expect(page.get_by_text("Page 100,000")).to_have_count(0)
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    expect(page.get_by_role("link", name="Download Excel")).to_have_count(0)
    screenshot(page, "past-the-end-1280x800-light")

    page.get_by_role("link", name="Last page with contacts (4)").click()
    expect(page).to_have_url(re.compile(r"\?full_name=ana&page=4$"))
    expect(summary).to_contain_text(f"Contacts 301–{len(expected)}")
    assert row_ids(page) == expected[300:]
    page.goto(stack.url(list_path(ORG, "full_name=ana&page=50")))
    page.get_by_role("link", name="First page").click()
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))
    assert row_ids(page) == expected[:100]


# --- 4. a failing page keeps the search; a repeated page says so --------------------------------


def test_a_failing_page_keeps_the_form_and_the_filters(failing_page, failing_late_stack):
    page = failing_page
    expected = ids(matches(ORG, full_name="a"))
    assert len(expected) > 400
    page.goto(failing_late_stack.url(list_path(ORG, "full_name=a&page=3")))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 201–300")

    page.get_by_role("link", name="Next").click()
    alert = page.locator(".upstream-alert")
    expect(alert).to_contain_text("Contactship is not answering")
    expect(page.get_by_role("search")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("a")
    expect(page).to_have_url(re.compile(r"\?full_name=a&page=4$"))
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    screenshot(page, "failing-page-1280x800-light")

    page.get_by_role("link", name="First page").click()
    expect(page).to_have_url(re.compile(r"\?full_name=a$"))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–100")
    assert row_ids(page) == expected[:100]

    # Loaded as a page, the same: a 503 with the search form and its filters.
    response = page.goto(failing_late_stack.url(list_path(ORG, "full_name=a&page=4")))
    assert response.status == 503
    expect(page.get_by_label("Name")).to_have_value("a")
    expect(alert).to_contain_text("Contactship is not answering")


def test_a_page_that_repeats_the_first_says_paging_is_ignored(new_page, paging_ignored_stack):
    page = new_page(cookies=session_cookies(paging_ignored_stack))
    page.goto(paging_ignored_stack.url(list_path(ORG)))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–100")
    page.get_by_role("link", name="Next").click()
    summary = page.locator("#result-summary")
    expect(summary).to_contain_text("Contactship ignores the request for further pages")
    expect(summary).not_to_contain_text("101–200")
    expect(page.locator(ROW_LINKS)).to_have_count(0)
    expect(page.get_by_role("link", name="Next")).to_have_count(0)
    screenshot(page, "paging-ignored-1280x800-light")
    page.get_by_role("link", name="First page").click()
    expect(page.locator(ROW_LINKS)).to_have_count(100)


# --- 5. an export a person can watch ----------------------------------------------------------


def test_an_excel_download_shows_its_progress_then_that_it_is_ready(slow_page, slow_stack):
    expected = matches(ORG, full_name="ma")  # 534: 6 pages of 1.5 s, two asked at a time
    page = slow_page
    page.goto(slow_stack.url(list_path(ORG, "full_name=ma")))
    status = page.locator("#download-status")
    expect(status).to_be_hidden()

    with page.expect_download() as info:
        page.get_by_role("link", name="Download Excel").click()
        expect(status).to_contain_text("Preparing your Excel file")
        # Some contacts so far, not yet all: about 4.5 s of the export show a count.
        so_far = re.compile(r"Preparing your Excel file: [1-5]00 contacts so far…")
        expect(status).to_have_text(so_far, timeout=SLOW_TIMEOUT_MS)
        screenshot(page, "export-progress-1280x800-light")
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".xlsx")
    expect(status).to_have_text(
        f"Your Excel file is ready: {len(expected)} contacts. Your browser saves it."
    )
    # The page is still the search, with its filters.
    expect(page).to_have_url(re.compile(r"\?full_name=ma$"))


@pytest.mark.parametrize(
    "locale, ready",
    [
        ("en-US", "Your CSV file is ready: 1 contact. Your browser saves it."),
        ("es-ES", "Su archivo CSV está listo: 1 contacto. Su navegador lo guarda."),
    ],
)
def test_a_download_of_one_contact_says_so_in_the_singular(new_page, stack, locale, ready):
    email = next(
        c["email"]
        for c in matches(ORG, full_name="ma")
        if c.get("email") and len(matches(ORG, email=c["email"])) == 1
    )
    page = new_page(cookies=session_cookies(stack), locale=locale)
    page.goto(stack.url(list_path(ORG, "email=" + email.replace("+", "%2B"))))
    with page.expect_download() as info:
        page.locator("#results a.download").nth(1).click()  # the CSV
    assert info.value.failure() is None
    expect(page.locator("#download-status")).to_have_text(ready)


def test_a_failed_download_says_why_on_the_page_and_offers_to_try_again(
    failing_page, failing_late_stack
):
    page = failing_page
    page.goto(failing_late_stack.url(list_path(ORG)))
    status = page.locator("#download-status")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    # A cut CSV still fails in the browser's own download list...
    assert download.failure() is not None
    # ...and the page says so, in words, with a way to try again.
    expect(status).to_contain_text("The download of your CSV file failed after 300 contacts.")
    expect(status).to_contain_text("Contactship is not answering")
    expect(status.get_by_role("button", name="Try again")).to_be_visible()
    screenshot(page, "export-failed-1280x800-light")
    with page.expect_download() as again:
        status.get_by_role("button", name="Try again").click()
    assert again.value.failure() is not None
    expect(status).to_contain_text("failed after 300 contacts")


def test_a_failed_excel_download_leaves_the_search_and_says_why(failing_page, failing_late_stack):
    """An XLSX is sent only when complete: a failure before that is a failed download (the
    page stays, with its filters), explained on the page, never the server's bare error page."""
    page = failing_page
    page.goto(failing_late_stack.url(list_path(ORG, "full_name=a")))
    status = page.locator("#download-status")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download Excel").click()
    assert info.value.failure() is not None
    expect(status).to_contain_text("The download of your Excel file failed after 300 contacts.")
    expect(status).to_contain_text("Contactship is not answering")
    expect(page).to_have_url(re.compile(r"\?full_name=a$"))
    expect(page.get_by_label("Name")).to_have_value("a")
    screenshot(page, "export-xlsx-failed-1280x800-light")


def test_download_progress_in_the_intranet_frame(new_page, stack):
    from tests.browser.support import SIDEBAR

    # A session of its own: ?embed=1 is remembered in the session.
    page = new_page(viewport=SIDEBAR, cookies=session_cookies(stack))
    page.goto(stack.url(list_path(ORG, "full_name=mar&embed=1")))
    expect(page.locator("body")).to_have_class(re.compile("embedded"))
    with page.expect_download() as info:
        page.get_by_role("link", name="Download Excel").click()
    assert info.value.failure() is None
    expect(page.locator("#download-status")).to_contain_text("Your Excel file is ready: 248")
    screenshot(page, "export-done-embedded-360x640")


def test_without_javascript_the_download_is_the_plain_link(new_page, stack):
    page = new_page(java_script_enabled=False)
    page.goto(stack.url(list_path(ORG, "full_name=mar")))
    link = page.get_by_role("link", name="Download Excel")
    expect(link).to_have_attribute("href", f"/orgs/{ORG}/contacts/export.xlsx?full_name=mar")
    with page.expect_download() as info:
        link.click()
    assert info.value.failure() is None
    expect(page.locator("#download-status")).to_be_hidden()
