"""The search page's layout in Chromium: rows in view, no page wider than its frame at any width
in either language, the phone card, the keyboards, errors that move nothing, paging that keeps
the form in view, and the organisation switch in the frame (the blocked-cookie page is in
test_blocked_cookie.py, with a browser that really refuses the cookie)."""

import pytest
from playwright.sync_api import expect

from contacts.demo.data import matches
from tests.browser.conftest import Framer
from tests.browser.support import (
    PHONE,
    ROW_LINKS,
    SIDEBAR,
    WIDE,
    list_path,
    screenshot,
)

pytestmark = pytest.mark.browser

ORG = "org-tejo"
SEARCH = list_path(ORG, "full_name=ana")
TABLET = {"width": 1024, "height": 768}
ROWS = "table.contacts tbody tr"


def rows_in_view(page, height: int) -> int:
    """Rows whose whole box is inside the window."""
    return page.locator(ROWS).evaluate_all(
        "(rows, h) => rows.filter(r => { const b = r.getBoundingClientRect();"
        " return b.height > 0 && b.top >= 0 && b.bottom <= h; }).length",
        height,
    )


def page_overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_at_1280_by_800_at_least_15_contacts_are_in_view_one_line_each(new_page, stack):
    page = new_page(viewport=WIDE)
    page.goto(stack.url(SEARCH))
    expect(page.locator(ROW_LINKS).first).to_be_visible()
    assert rows_in_view(page, WIDE["height"]) >= 15
    heights = page.locator(ROWS).evaluate_all(
        "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
    )
    assert max(heights) <= 32, f"a row wraps: {sorted(set(heights))}"
    # Long text is cut, whole in the title; a web address is never broken mid-word.
    description = page.locator("td.col-description span[title]").first
    assert description.evaluate("e => getComputedStyle(e.closest('td')).textOverflow") == (
        "ellipsis"
    )
    # Phone numbers read internationally; the link dials the stored number.
    phone = page.locator("td.col-phone_number a").first
    assert phone.get_attribute("href").startswith("tel:+")
    assert " " in phone.inner_text()
    screenshot(page, "after-search-1280x800-en-light")


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
@pytest.mark.parametrize(
    "viewport", [SIDEBAR, PHONE, TABLET, WIDE], ids=lambda v: f"{v['width']}px"
)
def test_no_page_is_wider_than_its_frame(new_page, stack, viewport, locale):
    page = new_page(viewport=viewport, locale=locale)
    contact = matches(ORG, full_name="ana")[6]
    for path in (
        SEARCH,
        list_path(ORG, "phone_number=%2B55"),
        list_path(ORG, "phone_number=call+me"),
        list_path(ORG, "full_name=zzzz-nobody"),
        f"/orgs/{ORG}/contacts/{contact['id']}/",
        "/",
    ):
        page.goto(stack.url(path))
        assert page_overflow(page) <= 0, f"{path} scrolls sideways at {viewport['width']} px"
        # Nor does anything inside it stick out of the window, but for text an ellipsis cuts.
        wider = page.evaluate(
            """w => Array.from(document.querySelectorAll('main *')).filter(e => {
                if (e.getBoundingClientRect().right <= w + 1) return false;
                if (getComputedStyle(e).display === 'none') return false;
                for (let a = e.parentElement; a && a.tagName !== 'MAIN'; a = a.parentElement) {
                    if (['hidden', 'clip'].includes(getComputedStyle(a).overflowX)
                        && a.getBoundingClientRect().right <= w + 1) return false;
                }
                return true;
            }).map(e => e.tagName + '.' + e.className).slice(0, 5)""",
            viewport["width"],
        )
        assert not wider, f"{path} at {viewport['width']} px: {wider}"
    page.goto(stack.url(SEARCH))
    screenshot(page, f"after-search-{viewport['width']}-{locale[:2]}")


@pytest.mark.parametrize("viewport", [PHONE, SIDEBAR], ids=lambda v: f"{v['width']}px")
def test_on_a_phone_each_contact_is_a_card_with_name_phone_and_email(new_page, stack, viewport):
    page = new_page(viewport=viewport)
    page.goto(stack.url(list_path(ORG, "phone_number=%2B55")))
    first = page.locator(ROWS).first
    for cell in ("td.col-full_name", "td.col-phone_number", "td.col-email"):
        located = first.locator(cell)
        expect(located).to_be_visible()
        box = located.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (cell, box)
    phone = first.locator("td.col-phone_number")
    assert phone.inner_text().startswith("+55 ")
    # The number is whole, and name and email get most of the card, not a sliver.
    assert phone.evaluate("e => e.scrollWidth <= e.clientWidth")
    card = first.bounding_box()["width"]
    for cell in ("td.col-full_name", "td.col-email"):
        assert first.locator(cell).bounding_box()["width"] >= card * 0.4, cell
    screenshot(page, f"after-phone-search-{viewport['width']}")


@pytest.mark.parametrize("viewport", [PHONE, SIDEBAR], ids=lambda v: f"{v['width']}px")
def test_on_a_phone_the_quick_find_is_one_row(new_page, stack, viewport):
    page = new_page(viewport=viewport, locale="es-ES")  # the longer words
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    header = page.locator(".site-header")
    box = page.get_by_placeholder("Correo, teléfono o id de contacto").bounding_box()
    find = header.get_by_role("button", name="Encontrar").bounding_box()
    assert abs(find["y"] - box["y"]) < 4, (box, find)  # side by side
    assert box["width"] >= viewport["width"] / 2  # room to read what was typed
    # Bulk lookup beside the language and log-out links, not on a row of its own.
    bulk = header.get_by_role("link", name="Búsqueda masiva").bounding_box()
    language = header.get_by_role("button", name="Idioma: English").bounding_box()
    assert abs(bulk["y"] - language["y"]) < 8, (bulk, language)
    for item in (box, find, bulk, language):
        assert item["x"] >= 0 and item["x"] + item["width"] <= viewport["width"], item


# Columns chosen with the picker: additional data, the id, the name last.
CHOSEN = list_path(
    ORG, "full_name=ana&columns=data.notas,email,phone_number,data.endere%C3%A7o,id,full_name"
)


def test_chosen_columns_are_one_line_each_at_1280_by_800(new_page, stack):
    page = new_page(viewport=WIDE)
    page.goto(stack.url(CHOSEN))
    expect(page.locator("td.col-full_name a").first).to_be_visible()
    assert page.locator("table.contacts thead th").count() == 6
    assert rows_in_view(page, WIDE["height"]) >= 15
    heights = page.locator(ROWS).evaluate_all(
        "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
    )
    assert max(heights) <= 32, f"a row wraps: {sorted(set(heights))}"
    # An additional-data column is cut like the others, whole in its title.
    notes = page.locator("td.col-data span[title]").first
    assert notes.evaluate("e => getComputedStyle(e.closest('td')).textOverflow") == "ellipsis"
    assert notes.get_attribute("title") == notes.inner_text()
    assert page_overflow(page) <= 0
    screenshot(page, "after-columns-1280x800")


def test_on_a_phone_chosen_columns_keep_name_phone_and_email_in_the_card(new_page, stack):
    page = new_page(viewport=PHONE)
    page.goto(stack.url(CHOSEN))
    first = page.locator(ROWS).first
    card = first.bounding_box()
    for cell in ("td.col-full_name", "td.col-phone_number", "td.col-email"):
        located = first.locator(cell)
        expect(located).to_be_visible()
        box = located.bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
    # The name heads the card though it was chosen last; the rest come below, each named.
    name = first.locator("td.col-full_name").bounding_box()
    assert all(
        name["y"] <= first.locator(cell).bounding_box()["y"]
        for cell in ("td.col-email", "td.col-data >> nth=0", "td.col-id")
    )
    label = first.locator("td.col-id").evaluate("e => getComputedStyle(e, '::before').content")
    assert label == '"Id: "', label
    assert page_overflow(page) <= 0
    screenshot(page, "after-columns-390")


def test_the_fields_bring_the_right_keyboard_and_all_can_be_cleared(page, stack):
    page.goto(stack.url(list_path(ORG)))
    kinds = {
        label: page.get_by_label(label, exact=True).evaluate("e => [e.type, e.inputMode]")
        for label in ("Name", "Email", "Phone")
    }
    assert kinds == {
        "Name": ["search", ""],
        "Email": ["search", "email"],
        "Phone": ["search", "tel"],
    }


def test_a_field_error_moves_nothing_and_hides_nothing(page, stack):
    page.goto(stack.url(SEARCH))
    expect(page.locator(ROW_LINKS).first).to_be_visible()
    search = page.get_by_role("button", name="Search")
    before = search.bounding_box()
    rows_before = page.locator(ROW_LINKS).count()
    page.get_by_label("Phone").fill("call me")
    expect(page.locator("#id_phone_number_error")).to_contain_text("Use digits only")
    after = search.bounding_box()
    assert abs(after["y"] - before["y"]) <= 1, (before, after)
    # The results stay, marked as those of an earlier search.
    assert page.locator(ROW_LINKS).count() == rows_before
    expect(page.locator("#result-summary")).to_be_visible()
    expect(page.locator("#stale-note")).to_be_visible()
    screenshot(page, "after-field-error-1280x800")


def test_paging_keeps_the_form_and_the_first_result_in_view(page, stack):
    page.goto(stack.url(SEARCH))
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")
    for located in (
        page.get_by_label("Name"),
        page.get_by_role("link", name="Download CSV"),
        page.locator(ROW_LINKS).first,
    ):
        expect(located).to_be_in_viewport(ratio=1)


def test_the_framed_layout_can_switch_organisation(new_page, stack, framer):
    page = new_page()
    page.goto(Framer.origin(framer.allowed) + "/")
    frame = page.frame_locator("iframe")
    expect(frame.locator("body")).to_have_class("embedded")
    expect(frame.locator(ROW_LINKS).first).to_be_visible()
    frame.locator(".org-switch summary").click()
    switch = frame.get_by_role("navigation", name="Switch organisation")
    screenshot(page, "after-framed-org-switch-360")
    switch.get_by_role("link", name="Tejo Comercial").click()
    expect(frame.locator(".org-switch summary")).to_contain_text("Tejo Comercial")
    expect(frame.locator("body")).to_have_class("embedded")
    expect(frame.locator(ROW_LINKS).first).to_be_visible()


def test_the_contact_page_copies_and_shows_the_viewers_time_zone(new_page, stack):
    page = new_page(timezone_id="America/Mexico_City", permissions=["clipboard-read"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    contact = matches(ORG, full_name="ana")[6]
    page.goto(stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"))
    page.get_by_role("button", name="Copy phone").click()
    expect(page.get_by_role("status")).to_have_text("Phone number copied")
    assert page.evaluate("navigator.clipboard.readText()") == contact["phone_number"]
    expect(page.locator("time.local-time")).to_contain_text("CST")
    screenshot(page, "after-contact-1280x800")
