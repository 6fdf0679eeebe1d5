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


def test_narrow_table_scrolls_sideways_keeps_the_name_and_drops_optional_columns(new_page, stack):
    page = new_page(viewport=SIDEBAR)
    page.goto(stack.url(SEARCH))
    expect(page.get_by_role("columnheader", name="Description")).to_be_hidden()
    expect(page.get_by_role("columnheader", name="Additional data")).to_be_hidden()
    region = page.get_by_role("region", name="Contacts 1–100 matching your search")
    sizes = region.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert sizes[0] > sizes[1], f"the table should scroll inside its region: {sizes}"

    # With the keyboard: focus the region, arrow right.
    region.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollLeft > 0")
    # The name column stays at the left edge while the rest scrolls under it.
    name = page.get_by_role("columnheader", name="Name")
    assert abs(name.bounding_box()["x"] - region.bounding_box()["x"]) <= 2
    first_name = page.locator("table.contacts tbody td").first
    assert abs(first_name.bounding_box()["x"] - region.bounding_box()["x"]) <= 2


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


@pytest.mark.parametrize("viewport", [SIDEBAR, WIDE], ids=lambda v: f"{v['width']}px")
def test_header_row_stays_visible_while_scrolling(new_page, stack, viewport):
    page = new_page(viewport=viewport)
    page.goto(stack.url(SEARCH))
    region = page.locator(".table-scroll")
    header = page.get_by_role("columnheader", name="Email")

    # Scroll with the wheel over the table, far: first the page, then the table itself.
    box = region.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, min(box["y"] + 50, viewport["height"] - 10))
    for _ in range(4):
        page.mouse.wheel(0, 1500)
    # The rows have scrolled (the wheel may animate).
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollTop > 1000")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")

    # The header row is on screen, at the top of the table, and nothing covers it.
    head = header.bounding_box()
    assert head["y"] >= 0 and head["y"] + head["height"] <= viewport["height"], head
    assert abs(head["y"] - region.bounding_box()["y"]) <= 2
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
