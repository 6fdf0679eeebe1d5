"""Saved views in Chromium: saved with the keyboard alone, opened from its tab, and opened by a
colleague; in English and in Brazilian Portuguese."""

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.support import list_path, serious_violations

pytestmark = pytest.mark.browser

ORG = "org-tejo"
WORDS = {
    "en-US": {
        "save": "Save view",
        "name": "Save as",
        "shared": "Shared with everyone in the organisation",
        "submit": "Save",
        "all": "All contacts",
        "manage": "Manage views",
        "delete": "Delete",
    },
    "pt-BR": {
        "save": "Salvar visualização",
        "name": "Salvar como",
        "shared": "Compartilhada com todos da organização",
        "submit": "Salvar",
        "all": "Todos os contatos",
        "manage": "Gerenciar visualizações",
        "delete": "Excluir",
    },
}


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element is the one named `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(
            """() => {
                const e = document.activeElement;
                return e ? (e.getAttribute("aria-label") || e.textContent || "").trim() : "";
            }"""
        )
        if found == name:
            return
    raise AssertionError(f"{name!r} never got the focus")


def delete_views(page, stack, words: dict) -> None:
    page.goto(stack.url(f"/orgs/{ORG}/views/"))
    delete = page.get_by_role("button", name=re.compile(f"^{words['delete']}"))
    while delete.count():
        with page.expect_navigation():
            delete.first.click()


@pytest.fixture
def colleague_cookies(stack) -> list[dict]:
    """A second member of the organisation, signed in."""
    username, password = "colega-" + secrets.token_hex(3), secrets.token_urlsafe(18)
    stack.add_member(username, password, ORG, can_export=False)
    session = stack.login_as(username, password)
    return [{"name": c.name, "value": c.value, "url": stack.dashboard_url} for c in session.cookies]


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_save_with_the_keyboard_open_from_the_tab_and_share(
    new_page, stack, colleague_cookies, locale
):
    words = WORDS[locale]
    name = f"Anas {locale}"
    page = new_page(locale=locale)
    try:
        page.goto(stack.url(list_path(ORG, "full_name=ana")))
        tab_to(page, words["save"])
        page.keyboard.press("Enter")  # opens the fold
        page.keyboard.press("Tab")
        expect(page.get_by_label(words["name"])).to_be_focused()
        page.keyboard.type(name)
        page.keyboard.press("Tab")
        expect(page.get_by_label(words["shared"])).to_be_focused()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        # Saved and opened: its search, its tab marked as the one shown.
        expect(page).to_have_url(re.compile(r"\?full_name=ana&view=[a-z0-9]{10}$"))
        current = page.locator('.saved-views a[aria-current="page"]')
        expect(current).to_have_text(name)

        # From the plain list, its tab opens it again (the keyboard's Enter on the link).
        page.goto(stack.url(list_path(ORG)))
        expect(page.locator('.saved-views a[aria-current="page"]')).to_have_text(words["all"])
        page.get_by_role("link", name=name).focus()
        page.keyboard.press("Enter")
        expect(page.locator("#id_full_name")).to_have_value("ana")
        expect(page.locator('.saved-views a[aria-current="page"]')).to_have_text(name)

        # A colleague sees the shared view and opens it.
        other = new_page(locale=locale, cookies=colleague_cookies)
        other.goto(stack.url(list_path(ORG)))
        other.get_by_role("link", name=name).click()
        expect(other).to_have_url(re.compile(r"\?full_name=ana&view=[a-z0-9]{10}$"))
        expect(other.locator('.saved-views a[aria-current="page"]')).to_have_text(name)
        expect(other.locator("#results tbody tr").first).to_be_visible()
    finally:
        delete_views(page, stack, words)


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_the_views_pages_have_no_serious_violations(new_page, stack, locale):
    words = WORDS[locale]
    page = new_page(locale=locale)
    try:
        page.goto(stack.url(list_path(ORG, "full_name=ana")))
        page.get_by_text(words["save"]).click()
        page.get_by_label(words["name"]).fill(f"Axe {locale}")
        page.get_by_role("button", name=words["submit"], exact=True).click()
        expect(page.locator('.saved-views a[aria-current="page"]')).to_contain_text("Axe")
        found = {"search with its view": serious_violations(page)}
        page.goto(stack.url(f"/orgs/{ORG}/views/"))
        found["saved views"] = serious_violations(page)
        assert not any(found.values()), found
    finally:
        delete_views(page, stack, words)
