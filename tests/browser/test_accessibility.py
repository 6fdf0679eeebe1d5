"""axe-core on every page, light and dark; and the screenshots to look at.

The screenshots (search, contact, empty, error; 1280×800 and 390×844; light and dark) are written
to artifacts/screenshots/, which git ignores.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import session_cookies
from tests.browser.support import (
    PHONE,
    ROW_LINKS,
    WIDE,
    list_path,
    rich_contact,
    screenshot,
    serious_violations,
)

pytestmark = pytest.mark.browser

SCHEMES = ["light", "dark"]
ORG = "org-tejo"
SMALL_SEARCH = "full_name=mar&email=hot"  # a few dozen rows


@pytest.fixture(scope="module")
def failing_cookies(failing_stack):
    return session_cookies(failing_stack)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=lambda v: f"{v['width']}x{v['height']}")
def test_screenshots_without_serious_violations(
    new_page, stack, failing_stack, failing_cookies, viewport, scheme
):
    size = f"{viewport['width']}x{viewport['height']}"
    page = new_page(viewport=viewport, color_scheme=scheme)
    failing = new_page(viewport=viewport, color_scheme=scheme, cookies=failing_cookies)
    shots = [
        ("search", page, stack.url(list_path(ORG, "full_name=ana")), ROW_LINKS),
        ("contact", page, stack.url(f"/orgs/{ORG}/contacts/{rich_contact()['id']}/"), "h1"),
        ("empty", page, stack.url(list_path(ORG, "full_name=zzzz-nobody")), "#result-summary"),
        ("error", failing, failing_stack.url(list_path("org-harbor", "page=2")), "h1"),
    ]
    found = {}
    for name, tab, url, ready in shots:
        tab.goto(url)
        expect(tab.locator(ready).first).to_be_visible()
        screenshot(tab, f"{name}-{size}-{scheme}")
        found[name] = serious_violations(tab)
    assert not any(found.values()), found


@pytest.mark.parametrize("scheme", SCHEMES)
def test_other_pages_without_serious_violations(new_page, stack, scheme):
    anonymous = new_page(logged_in=False, color_scheme=scheme)
    page = new_page(color_scheme=scheme)
    spanish = new_page(color_scheme=scheme, locale="es-ES")
    portuguese = new_page(color_scheme=scheme, locale="pt-BR")
    pages = [
        ("login", anonymous, "/accounts/login/"),
        ("organisations", page, "/"),
        ("invalid filter", page, list_path(ORG, "phone_number=call+me")),
        ("contact not found", page, f"/orgs/{ORG}/contacts/00000000-0000-4000-8000-000000000000/"),
        ("unknown organisation", page, "/orgs/org-nowhere/contacts/"),
        ("search in Spanish", spanish, list_path(ORG, SMALL_SEARCH)),
        ("contact in Spanish", spanish, f"/orgs/{ORG}/contacts/{rich_contact()['id']}/"),
        ("bulk lookup", page, f"/orgs/{ORG}/contacts/lookup/"),
        ("bulk lookup in Spanish", spanish, f"/orgs/{ORG}/contacts/lookup/"),
        ("quick find refused", page, f"/orgs/{ORG}/contacts/find/?q=Ana"),
        ("search in Portuguese", portuguese, list_path(ORG, SMALL_SEARCH)),
        ("contact in Portuguese", portuguese, f"/orgs/{ORG}/contacts/{rich_contact()['id']}/"),
        ("bulk lookup in Portuguese", portuguese, f"/orgs/{ORG}/contacts/lookup/"),
        ("saved views", page, f"/orgs/{ORG}/views/"),
        ("saved views in Portuguese", portuguese, f"/orgs/{ORG}/views/"),
        ("status", page, "/status/"),
    ]
    found = {}
    for name, tab, path in pages:
        tab.goto(stack.url(path))
        found[name] = serious_violations(tab)
    # The search page as typing changed it: new results, an error under a field.
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Name").fill("mar")
    expect(page.locator("#result-summary")).to_contain_text("matching your search")
    page.get_by_label("Phone").fill("x")
    expect(page.locator("#id_phone_number_error")).not_to_be_empty()
    found["search after typing"] = serious_violations(page)
    assert not any(found.values()), {k: v for k, v in found.items() if v}
