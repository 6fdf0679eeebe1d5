"""The summary in a real browser: from a search to its summary, the progress while it counts,
a country's count to the narrowed search, and that search's download; the data quality's count to
the search narrowed by the `quality` filter; the summary's looks in light and dark, wide and at
360 px, with axe-core's verdict."""

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.conftest import session_cookies
from tests.browser.support import ROW_LINKS, ids, list_path, row_ids, screenshot, serious_violations
from tests.live import LiveStack, live_stack
from tests.test_quality import expected_contacts

pytestmark = pytest.mark.browser

ORG = "org-tejo"


def folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@pytest.fixture(scope="module")
def slow_stack(chromium) -> Iterator[LiveStack]:
    """An upstream slow enough (and a scan narrow enough) that the progress can be watched."""
    env = {"CONTACTSHIP_SCAN_CALLS_MAX": "1", "CONTACTSHIP_SCAN_CALLS_START": "1"}
    with live_stack(demo_args=["--latency-ms", "200"], org_ids=[ORG], env=env) as running:
        yield running


@pytest.fixture
def slow_page(browser, slow_stack):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(20_000)
    context.add_cookies(session_cookies(slow_stack))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert not errors, errors


def test_search_summary_progress_country_narrowed_search_download(slow_page, slow_stack):
    page = slow_page
    page.goto(slow_stack.url(list_path(ORG, "full_name=a")))
    expect(page.locator(ROW_LINKS)).to_have_count(100)

    page.get_by_role("link", name="Summary").click()
    # While it counts: one progress line, growing, and a way to stop.
    progress = page.locator(".progress-line:visible")
    expect(progress).to_have_count(1)
    expect(progress).to_contain_text("contacts counted (pages read:")
    expect(page.get_by_role("link", name="Stop")).to_be_visible()
    first = int(re.sub(r"\D", "", progress.inner_text().split("contacts")[0]))
    screenshot(page, "summary-progress")

    everyone = matches(ORG, full_name="a")
    total = page.locator("strong.total")
    # 24 pages one after another at 200 ms each, on a machine that may be busy.
    expect(total).to_have_text(f"{len(everyone):,}", timeout=60_000)
    assert first < len(everyone), "the progress was seen before the end"
    expect(page.locator(".scan-progress")).to_be_hidden()
    expect(page.locator(".month-chart svg rect").first).to_be_attached()
    screenshot(page, "summary-wide-light")

    countries = page.locator("section[aria-labelledby=facet-countries] tbody tr")
    name = countries.first.locator("td").first.inner_text()
    want = [c for c in everyone if folded(c.get("country") or "") == folded(name)]
    link = countries.first.get_by_role("link")
    expect(link).to_have_text(f"{len(want):,}")
    link.click()

    expect(page).to_have_url(re.compile(r"/contacts/\?full_name=a&country="))
    expect(page.locator(".dashboard-filter-note")).to_contain_text("applied by the dashboard")
    expect(page.locator(ROW_LINKS)).to_have_count(min(100, len(want)))
    assert row_ids(page) == ids(want[:100])
    screenshot(page, "search-narrowed-by-country")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.failure() is None
    rows = list(csv.reader(io.StringIO(download.path().read_bytes().decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ids(want)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 360])
def test_the_summary_reads_well_in_both_schemes_and_at_360_px(new_page, stack, scheme, width):
    page = new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.goto(stack.url(f"/orgs/{ORG}/contacts/summary/?full_name=ana"))
    expect(page.locator("strong.total")).to_be_visible()
    # Nothing wider than the screen but the scrolling month table.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    chart = page.locator(".month-chart svg").bounding_box()
    assert chart and chart["width"] <= width and chart["height"] > 50
    # The bars take the accent colour of the scheme, not a fixed one.
    fill = page.locator(".month-chart rect").first.evaluate("r => getComputedStyle(r).fill")
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert fill == {"#0a58ca": "rgb(10, 88, 202)", "#4d9bff": "rgb(77, 155, 255)"}[accent]
    # Spain, written "España" and "Espanha" in this organisation, is one row with both under it.
    spain = page.locator("section[aria-labelledby=facet-countries] tbody tr").filter(
        has=page.get_by_role("list", name="Written as")
    )
    written = Counter(c.get("country") for c in matches(ORG, full_name="ana"))
    assert written["España"] > written["Espanha"] > 0  # most used first
    expect(spain.first.get_by_role("listitem")).to_have_text(
        [f"España {written['España']}", f"Espanha {written['Espanha']}"]
    )
    total = written["España"] + written["Espanha"]
    expect(spain.first.get_by_role("link")).to_have_text(str(total))
    assert serious_violations(page) == []
    screenshot(page, f"summary-{width}-{scheme}")
    months = page.locator("section.facet-months")
    months.scroll_into_view_if_needed()
    months.screenshot(path=screenshot(page, f"summary-{width}-{scheme}-months"))


def test_the_data_quality_leads_to_its_contacts_and_their_download(new_page, stack):
    page = new_page(viewport={"width": 1280, "height": 1000})
    page.goto(stack.url(f"/orgs/{ORG}/contacts/summary/"))
    quality = page.locator("section[aria-labelledby=facet-quality]")
    expect(quality).to_be_visible(timeout=60_000)
    quality.scroll_into_view_if_needed()
    assert serious_violations(page) == []
    quality.screenshot(path=screenshot(page, "summary-quality"))

    want = expected_contacts(ORG, quality="invalid_phone")
    link = quality.get_by_role("row", name="Phone not valid").get_by_role("link")
    expect(link).to_have_text(f"{len(want):,}")
    link.click()
    expect(page).to_have_url(re.compile(r"/contacts/\?quality=invalid_phone$"))
    # The filters the dashboard applies are open, the rule chosen in its select.
    expect(page.get_by_label("Data quality")).to_have_value("invalid_phone")
    expect(page.locator(ROW_LINKS)).to_have_count(min(100, len(want)))
    assert row_ids(page) == ids(want[:100])
    screenshot(page, "search-narrowed-by-quality")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    body = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[0] for row in rows[1:]] == ids(want)
