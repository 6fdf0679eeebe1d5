"""A short search's summary fits a screen: the months table lists the months with contacts only
(folded away when they are many; the chart keeps the empty ones), and "Computed …" is in the
viewer's own time zone."""

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.support import WIDE

pytestmark = pytest.mark.browser

ORG = "org-tejo"
# Some 40 contacts created over six and a half years: 78 months from the first to the last.
SHORT = "full_name=ana+m"
# At 1280 px the page's head, the count, the four facets and the chart measure about 1,560 px
# with the table folded. A table of every month adds some 30 px a row (75 rows made the
# 3,978 px page seen). 2,000 px, two and a half laptop screens, leaves room for a longer country
# list, never for a scroll through empty months.
MAX_HEIGHT = 2_000


def test_a_short_search_summary_fits_and_says_the_viewers_time(new_page, stack):
    contacts = matches(ORG, full_name="ana m")
    months = {c["created_at"][:7] for c in contacts if c.get("created_at")}
    assert 30 < len(contacts) < 50 and 20 < len(months) < len(contacts)

    page = new_page(viewport=WIDE, timezone_id="America/Sao_Paulo")
    page.goto(stack.url(f"/orgs/{ORG}/contacts/summary/?{SHORT}"))
    expect(page.locator(".summary-count .total")).to_have_text(str(len(contacts)))

    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < MAX_HEIGHT, height
    # The chart still draws every month from the first to the last, empty ones included...
    assert page.locator(".month-chart rect").count() > len(months)
    # ... the table only those with contacts, folded away (there are more than twelve).
    details = page.locator("details.month-details")
    expect(details).not_to_have_attribute("open", "")
    details.locator("summary").click()
    rows = page.locator(".month-table tbody tr")
    expect(rows).to_have_count(len(months))
    assert all(text != "0" for text in rows.locator("td.num").all_inner_texts())

    computed = page.locator(".computed time.local-time")
    expect(computed).not_to_contain_text("UTC")
    expect(computed).to_have_attribute("title", "America/Sao_Paulo")
    expect(computed).to_contain_text("GMT-3")


def test_without_the_script_the_time_says_utc(new_page, stack):
    page = new_page(viewport=WIDE, java_script_enabled=False)
    page.goto(stack.url(f"/orgs/{ORG}/contacts/summary/?{SHORT}"))
    expect(page.locator(".computed time.local-time")).to_contain_text("UTC")
