"""From a 360 px iframe in a sidebar to a wide screen; light and dark."""

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.support import PHONE, SIDEBAR, WIDE, list_path

pytestmark = pytest.mark.browser

ORG = "org-tejo"
SEARCH = list_path(ORG, "full_name=ana")


def page_overflow(page) -> int:
    """How far the page itself scrolls sideways (0: it does not)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("viewport", [SIDEBAR, PHONE, WIDE], ids=lambda v: f"{v['width']}px")
def test_no_page_scrolls_sideways(new_page, stack, viewport):
    page = new_page(viewport=viewport)
    contact = matches(ORG, full_name="ana")[6]  # one with a long name and additional data
    for path in (
        SEARCH,
        list_path(ORG, "full_name=zzzz-nobody"),
        f"/orgs/{ORG}/contacts/{contact['id']}/",
        "/",
    ):
        page.goto(stack.url(path))
        assert page_overflow(page) <= 0, f"{path} scrolls sideways at {viewport['width']} px"


def test_narrow_screens_show_a_card_per_contact_without_the_optional_columns(new_page, stack):
    # On phones and sidebars a compact card per contact (name, date, email, phone)
    # replaced the table that scrolled sideways inside its region.
    page = new_page(viewport=SIDEBAR)
    page.goto(stack.url(SEARCH))
    first = page.locator("table.contacts tbody tr").first
    expect(first.locator("td.col-description")).to_be_hidden()
    expect(first.locator("td.col-additional_data")).to_be_hidden()
    for cell in ("td.col-full_name", "td.col-email", "td.col-phone_number"):
        expect(first.locator(cell)).to_be_in_viewport(ratio=1)
    assert page_overflow(page) <= 0


def test_wide_table_shows_every_column(new_page, stack):
    page = new_page(viewport=WIDE)
    page.goto(stack.url(SEARCH))
    for header in (
        "Name",
        "Email",
        "Phone",
        "Country",
        "Created",
        "Description",
        "Additional data",
    ):
        expect(page.get_by_role("columnheader", name=header)).to_be_visible()
    # ... without scrolling sideways, even past a long unbroken description.
    sizes = page.locator(".table-scroll").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert sizes[0] <= sizes[1], sizes


def test_the_page_scrolls_and_the_header_row_stays_in_view(new_page, stack):
    # No scroll box inside the page; the header row sticks to the window's top.
    page = new_page(viewport=WIDE)
    page.goto(stack.url(SEARCH))
    region = page.locator(".table-scroll")
    sizes = region.evaluate("e => [e.scrollHeight, e.clientHeight, getComputedStyle(e).overflowY]")
    assert sizes[0] <= sizes[1] and sizes[2] == "visible", sizes
    header = page.get_by_role("columnheader", name="Email")

    box = region.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 50)
    for _ in range(4):
        page.mouse.wheel(0, 1000)
    page.wait_for_function("() => window.scrollY > 1500")

    # The header row is on screen, at the top of the window, and nothing covers it.
    head = header.bounding_box()
    assert abs(head["y"]) <= 2, head
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('th')?.textContent.trim()",
        [head["x"] + 5, head["y"] + head["height"] / 2],
    )
    assert on_top == "Email"


def test_dark_mode_follows_the_system_setting(new_page, stack):
    colours = {}
    for scheme in ("light", "dark"):
        page = new_page(color_scheme=scheme)
        page.goto(stack.url(SEARCH))
        colours[scheme] = page.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.body).color]"
        )
    assert colours["light"] == ["rgb(255, 255, 255)", "rgb(27, 31, 36)"]
    assert colours["dark"] == ["rgb(15, 20, 25)", "rgb(230, 237, 243)"]
