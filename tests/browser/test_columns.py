"""Columns you choose, as a person meets them in a real browser.

Hide two columns and move one with the keyboard, reload, share the address with another user,
and download the CSV: it has exactly those columns, in that order, with every contact. Also the
picker without JavaScript, inside a frame's compact layout, in Spanish, and axe clean.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from contacts.demo.data import contacts_for
from tests.browser.support import list_path, screenshot, serious_violations

pytestmark = pytest.mark.browser

ORG = "org-harbor"
CHOSEN = "full_name%2Ccountry%2Cemail%2Ccreated_at"
HEADERS = ["Name", "Country", "Email", "Created"]


def headers(page) -> list[str]:
    return [t.strip() for t in page.locator("table.contacts thead th").all_inner_texts()]


def test_hide_two_move_one_reload_share_and_download(new_page, stack, tmp_path):
    page = new_page()
    page.goto(stack.url(list_path(ORG)))
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–100")
    screenshot(page, "columns-default")

    # Open the picker, hide Phone and Description, move Country up: keyboard only.
    page.get_by_role("link", name="Columns", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_role("checkbox", name="Phone", exact=True).focus()
    page.keyboard.press("Space")
    page.get_by_role("checkbox", name="Description", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="Phone", exact=True)).not_to_be_checked()
    screenshot(page, "columns-picker-open")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Move Country up").focus()
    page.keyboard.press("Enter")
    # a move keeps the picker open, to move another; Apply closes it
    expect(page).to_have_url(re.compile(rf"\?columns={CHOSEN}&choose_columns=1$"))
    assert headers(page) == HEADERS
    page.get_by_role("button", name="Apply columns").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"\?columns={CHOSEN}$"))
    assert headers(page) == HEADERS
    screenshot(page, "columns-chosen")
    for link in ("Download Excel", "Download CSV"):
        expect(page.get_by_role("link", name=link)).to_have_attribute(
            "href", re.compile(rf"\?columns={CHOSEN}")
        )

    # A reload, and the address without columns=: the choice is remembered.
    page.reload()
    assert headers(page) == HEADERS
    page.goto(stack.url(list_path(ORG)))
    assert headers(page) == HEADERS
    # Typing a search keeps the columns (the address too).
    page.get_by_role("searchbox", name="Name").fill("a")
    expect(page).to_have_url(re.compile(rf"\?full_name=a&columns={CHOSEN}$"))
    assert headers(page) == HEADERS
    shared = page.url

    # Another user opens the shared address and downloads the CSV.
    stack.add_member("columns-bea", "a-Long-test-passw0rd-2", ORG, can_export=True)
    session = stack.login_as("columns-bea", "a-Long-test-passw0rd-2")
    other = new_page(
        cookies=[
            {"name": c.name, "value": c.value, "url": stack.dashboard_url} for c in session.cookies
        ]
    )
    other.goto(shared)
    assert headers(other) == HEADERS
    with other.expect_download() as info:
        other.get_by_role("link", name="Download CSV").click()
    rows = list(
        csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"), newline=""))
    )
    assert rows[0] == ["full_name", "country", "email", "created_at"]
    wanted = [c for c in contacts_for(ORG) if "a" in (c.get("full_name") or "").casefold()]
    assert [r[0] for r in rows[1:]] == [c["full_name"] for c in wanted]
    assert [r[2] for r in rows[1:]] == [c.get("email") or "" for c in wanted]
    assert all(len(r) == 4 for r in rows)

    # Reset columns: the default again, for good.
    page.get_by_role("link", name="Columns", exact=True).click()
    page.get_by_role("button", name="Reset columns").click()
    expect(page.locator("table.contacts thead th").first).to_have_text("Name")
    assert headers(page)[:3] == ["Name", "Email", "Phone"]
    page.goto(stack.url(list_path(ORG)))
    assert headers(page)[:3] == ["Name", "Email", "Phone"]


def test_the_picker_works_without_javascript(new_page, stack):
    page = new_page(java_script_enabled=False)
    page.goto(stack.url(list_path(ORG)))
    page.get_by_role("link", name="Columns", exact=True).click()
    page.get_by_role("checkbox", name="Name", exact=True).uncheck()
    page.get_by_label("Add an additional-data field by name").fill("score")
    page.get_by_role("button", name="Apply columns").click()
    expect(page).to_have_url(
        re.compile(
            r"\?columns=email%2Cphone_number%2Ccountry%2Ccreated_at%2Cdescription%2Cdata.score$"
        )
    )
    assert headers(page) == [
        "Contact",
        "Email",
        "Phone",
        "Country",
        "Created",
        "Description",
        "score",
    ]
    # Without the name column, each row still opens its contact ("Open"; the phone is a tel: link).
    page.locator("table.contacts tbody tr").first.get_by_role(
        "link", name=re.compile("^Open ")
    ).click()
    expect(page).to_have_url(re.compile(r"/contacts/[0-9a-f-]{36}/"))


def test_the_picker_in_a_frame_and_in_spanish(new_page, stack):
    page = new_page(viewport={"width": 360, "height": 700}, locale="es-ES")
    page.goto(stack.url(list_path(ORG, "embed=1&columns=country,full_name")))
    assert headers(page) == ["País", "Nombre"]
    page.get_by_role("link", name="Columnas", exact=True).click()
    expect(page.get_by_role("button", name="Aplicar columnas")).to_be_visible()
    screenshot(page, "columns-embedded-es")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Bajar País").click()
    assert headers(page) == ["Nombre", "País"]
    # the picker stays open after a move, to move another
    expect(page.get_by_role("button", name="Aplicar columnas")).to_be_visible()
    page.goto(stack.url(list_path(ORG, "columns=nope")))
    expect(page.get_by_role("alert")).to_contain_text("No es una columna: nope.")
