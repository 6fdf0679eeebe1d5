"""The search with the keyboard alone: focus order, a visible focus, Enter, and the "/" shortcut."""

import re

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.support import ROW_LINKS, ids, list_path, row_ids

pytestmark = pytest.mark.browser

ORG = "org-tejo"
FIRST_NAME = matches(ORG, full_name="ana")[0]["full_name"]


def focused(page) -> str:
    """A short description of the focused element: its accessible name or id."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            if (!e || e === document.body) return "body";
            if (e.id) return "#" + e.id;
            const by = e.getAttribute("aria-labelledby");
            const name = by ? document.getElementById(by).textContent : e.textContent;
            return (e.getAttribute("role") ? e.getAttribute("role") + ": " : "")
                + name.replace(/\\s+/g, " ").trim();
        }"""
    )


def outline(page) -> tuple[str, float]:
    """The outline style and width of the focused element."""
    return page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return [style.outlineStyle, parseFloat(style.outlineWidth)];
        }"""
    )


def test_focus_order_and_visible_focus(page, stack):
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    expected = [
        "Skip to content",
        "Contacts",  # the brand, home
        "Organisation: Tejo Comercial",  # the switch to the user's other organisations
        "#quick-find",  # an email, phone or contact id straight to its contact
        "Find",
        "Bulk lookup",
        "Language: Español",
        "Language: Português",
        "Status",  # the stack's user is an administrator
        "Log out",
        "#id_full_name",
        "#id_email",
        "#id_phone_number",
        "Search",
        "Clear",
        # The dashboard's own filters, folded; then the way to the summary.
        "More filters: country, dates, email domain, data quality",
        "Summary",
        "Columns",  # the column picker
        "Refresh",
        "Download Excel",  # the primary download first
        "Download CSV",
        "Save view",  # folded: a name and who sees it
        # The page scrolls, not the table: next come the contacts themselves.
        FIRST_NAME,
    ]
    order = []
    for _ in expected:
        page.keyboard.press("Tab")
        order.append(focused(page))
        style, width = outline(page)
        assert style != "none" and width >= 2, f"no visible focus on {order[-1]}: {style} {width}"
    assert order == expected, order


def test_skip_link_goes_to_the_search(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Name")).to_be_focused()


def test_slash_focuses_the_search_and_enter_searches(page, stack):
    page.goto(stack.url(list_path(ORG)))
    expect(page.get_by_label("Name")).to_have_attribute("aria-keyshortcuts", "/")
    page.locator("body").click(position={"x": 5, "y": 400})
    expect(page.get_by_label("Name")).not_to_be_focused()

    page.keyboard.press("/")
    name = page.get_by_label("Name")
    expect(name).to_be_focused()
    expect(name).to_have_value("")  # the slash itself is not typed into the field

    page.keyboard.type("ana")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))
    assert row_ids(page) == ids(matches(ORG, full_name="ana")[:100])
    expect(name).to_be_focused()

    # In a field, "/" is just a character.
    page.keyboard.press("Tab")
    page.keyboard.type("a/b")
    expect(page.get_by_label("Email")).to_have_value("a/b")


def test_open_a_contact_and_page_with_the_keyboard(page, stack):
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    first = page.locator(ROW_LINKS).first
    first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        matches(ORG, full_name="ana")[0]["full_name"]
    )
    page.go_back()
    next_link = page.get_by_role("link", name="Next")
    next_link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")
    expect(page.locator("#result-summary")).to_be_focused()
