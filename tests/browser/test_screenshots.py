"""The documentation's screenshots, taken from the running dashboard so that they never go stale.

Each test opens a page a team member meets, waits until it shows what its screenshot is for, and
checks that. With DOCS_SCREENSHOTS=1 (`make screenshots`) the pictures are written to
docs/images/, where the documentation and the README take them from (they are committed, so the
documentation builds without a browser); otherwise they go to a temporary directory and the tests
are ordinary browser tests of the same pages.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.demo.data import contacts_for
from tests.browser.conftest import session_cookies
from tests.browser.support import PHONE, ROOT, ROW_LINKS, list_path, rich_contact

pytestmark = pytest.mark.browser

ORG = "org-tejo"
DOCS_IMAGES = ROOT / "docs" / "images"


@pytest.fixture
def shoot(tmp_path):
    """`shoot(target, name)`: what a page (or one element of it, a locator) shows now, as
    <name>.png in docs/images/ when DOCS_SCREENSHOTS=1 asks for it, else in a temporary
    directory."""
    folder = DOCS_IMAGES if os.environ.get("DOCS_SCREENSHOTS") == "1" else tmp_path

    def take(target, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        target.screenshot(path=path)
        assert path.stat().st_size > 0
        return path

    return take


def test_login(new_page, stack, shoot):
    page = new_page(logged_in=False, viewport={"width": 1280, "height": 400})
    page.goto(stack.url("/accounts/login/"))
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    shoot(page, "login")


@pytest.mark.parametrize("viewport", ["wide", "phone"])
def test_search(new_page, stack, shoot, viewport):
    page = new_page(**({"viewport": PHONE} if viewport == "phone" else {}))
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    expect(page.locator(ROW_LINKS).first).to_be_visible()
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–")
    shoot(page, "search" if viewport == "wide" else "search-phone")


def test_dashboard_filters(new_page, stack, shoot):
    page = new_page()
    page.goto(stack.url(list_path(ORG, "country=Portugal&email_domain=sapo.pt")))
    expect(page.locator(ROW_LINKS).first).to_be_visible()
    expect(page.locator(".dashboard-filter-note")).to_contain_text("applied by the dashboard")
    shoot(page, "filters")


def test_contact(new_page, stack, shoot):
    contact = rich_contact(ORG)
    page = new_page()
    page.goto(stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"))
    expect(page.locator("h1")).to_have_text(contact["full_name"])
    shoot(page, "contact")


def test_columns(new_page, stack, shoot):
    page = new_page()
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    page.get_by_role("link", name="Columns", exact=True).click()
    expect(page.get_by_role("button", name="Apply columns")).to_be_visible()
    shoot(page, "columns")


def test_summary(new_page, stack, shoot):
    page = new_page()
    page.goto(stack.url(f"/orgs/{ORG}/contacts/summary/?full_name=ana"))
    expect(page.locator("strong.total")).to_be_visible(timeout=30_000)
    shoot(page, "summary")
    chart = page.locator(".month-chart")
    expect(chart.locator("svg rect").first).to_be_attached()
    chart.scroll_into_view_if_needed()
    shoot(chart, "summary-chart")
    quality = page.locator('section[aria-labelledby="facet-quality"]')
    expect(quality.get_by_role("link").first).to_be_visible()
    quality.scroll_into_view_if_needed()
    shoot(quality, "summary-quality")


def test_duplicates(new_page, stack, shoot):
    page = new_page()
    page.goto(stack.url(f"/orgs/{ORG}/contacts/duplicates/?by=name&full_name=ana"))
    expect(page.locator("section.duplicate-group").first).to_be_visible(timeout=30_000)
    expect(page.locator(".scan-progress")).to_be_hidden()
    shoot(page, "duplicates")


def test_saved_view(new_page, stack, shoot):
    page = new_page()
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    page.get_by_text("Save view").click()
    page.get_by_label("Save as").fill("Anas in Tejo")
    page.get_by_role("button", name="Save", exact=True).click()
    try:
        expect(page.locator('.saved-views a[aria-current="page"]')).to_contain_text("Anas in Tejo")
        shoot(page, "saved-view")
    finally:
        page.goto(stack.url(f"/orgs/{ORG}/views/"))
        delete = page.get_by_role("button", name=re.compile("^Delete"))
        while delete.count():
            with page.expect_navigation():
                delete.first.click()


def test_bulk_lookup(new_page, stack, shoot):
    known = [c for c in contacts_for(ORG)[:50] if c.get("email") and c.get("phone_number")][:3]
    values = [
        known[0]["email"],
        known[1]["phone_number"],
        "someone@example.invalid",
        known[2]["email"],
        "not an email",
        known[0]["email"].upper(),
    ]
    page = new_page()
    page.goto(stack.url(f"/orgs/{ORG}/contacts/lookup/"))
    page.get_by_label("Emails, phone numbers or contact ids, one per line").fill("\n".join(values))
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-count")).to_contain_text(f"All {len(values)} values looked up")
    expect(page.locator("#lookup-table tbody tr")).to_have_count(len(values))
    shoot(page, "lookup")


def test_error_page(new_page, failing_stack, shoot):
    page = new_page(cookies=session_cookies(failing_stack), viewport={"width": 1280, "height": 340})
    response = page.goto(failing_stack.url(list_path("org-harbor", "page=2")))
    assert response.status == 503
    expect(page.locator(".upstream-alert")).to_contain_text("Contactship is not answering")
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    shoot(page, "error")
