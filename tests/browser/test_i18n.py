"""English, Spanish and Brazilian Portuguese: the browser's language, a switcher, localised dates
and numbers."""

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from contacts.demo.data import contacts_for
from tests.browser.support import list_path, screenshot

pytestmark = pytest.mark.browser

ORG = "org-tejo"
SPANISH_MONTH = (
    r"(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)"
)

PORTUGUESE_MONTH = (
    r"(janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro)"
)


def table_day(contact: dict, order: str) -> str:
    """The short date the table shows for `contact` (UTC): day/month/year in Spanish,
    month/day/year in English."""
    day = datetime.fromisoformat(contact["created_at"].replace("Z", "+00:00"))
    return day.strftime(order)


def test_the_browser_language_picks_spanish(new_page, stack):
    page = new_page(locale="es-ES")
    page.goto(stack.url(list_path(ORG, "page=11")))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_title("Buscar contactos · Panel de contactos")
    for label in ("Nombre", "Correo electrónico", "Teléfono"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Buscar")).to_be_visible()
    expect(page.get_by_role("link", name="Descargar CSV")).to_be_visible()
    # Numbers as Spanish writes them (Django's formats: a non-breaking space between thousands).
    expect(page.locator("#result-summary")).to_have_text("Contactos 1\u00a0001–1\u00a0100")
    expect(page.locator(".page-number")).to_have_text("Página 11")
    expect(page.get_by_role("columnheader", name="Creado")).to_be_visible()
    # Short dates keep the column narrow, day first in Spanish.
    created = page.locator("table.contacts tbody tr").first.locator("td").nth(4)
    expect(created).to_have_text(table_day(contacts_for(ORG)[1000], "%d/%m/%Y"))
    # Additional data in the table: yes/no in Spanish too.
    flags = page.locator("table.contacts .kv li", has_text="newsletter:")
    expect(flags.first).to_have_text(re.compile(r"^newsletter: (Sí|No)$"))
    screenshot(page, "search-es-1280x800-light")


def test_english_numbers_and_dates(page, stack):
    page.goto(stack.url(list_path(ORG, "page=11")))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#result-summary")).to_have_text("Contacts 1,001–1,100")
    created = page.locator("table.contacts tbody tr").first.locator("td").nth(4)
    expect(created).to_have_text(table_day(contacts_for(ORG)[1000], "%m/%d/%Y"))


def test_the_switcher_changes_language_and_keeps_the_search(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Name").fill("ana")
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))  # changed by htmx

    page.get_by_role("button", name="Language: Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_url(re.compile(r"/orgs/org-tejo/contacts/\?full_name=ana$"))
    expect(page.get_by_label("Nombre")).to_have_value("ana")
    expect(page.locator("#result-summary")).to_contain_text("que coinciden con la búsqueda")

    # The choice sticks, over the browser's own language.
    page.get_by_role("link", name="Siguiente").click()
    expect(page.locator("#result-summary")).to_contain_text("Contactos 101–200")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "es")

    page.get_by_role("button", name="Idioma: English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")


def test_a_contact_in_spanish(new_page, stack):
    contact = next(
        c
        for c in contacts_for(ORG)
        if {"boolean", "number"} <= {d["type"] for d in c.get("additional_data") or []}
    )
    page = new_page(locale="es")
    page.goto(stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"))
    expect(page.get_by_role("link", name="Volver a los resultados")).to_be_visible()
    expect(page.get_by_text("Datos adicionales")).to_be_visible()
    created = page.locator("dt:has-text('Creado') + dd")
    # In the viewer's time zone (the browser's: UTC here), the zone named.
    expect(created).to_have_text(
        re.compile(rf"^\d{{1,2}} de {SPANISH_MONTH} de \d{{4}}(,| a las) \d{{1,2}}:\d{{2}} UTC$")
    )
    booleans = [d for d in contact["additional_data"] if d["type"] == "boolean"]
    expect(
        page.get_by_text("Sí" if booleans[0]["value"] else "No", exact=True).first
    ).to_be_visible()
    numbers = [d for d in contact["additional_data"] if d["type"] == "number"]
    value = numbers[0]["value"]
    shown = str(value).replace(".", ",")  # a decimal comma
    expect(page.locator("dd", has_text=re.compile(rf"^{re.escape(shown)}$")).first).to_be_visible()


def test_the_browser_language_picks_brazilian_portuguese(new_page, stack):
    page = new_page(locale="pt-BR")
    page.goto(stack.url(list_path(ORG, "page=11")))
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page).to_have_title("Buscar contatos · Painel de contatos")
    for label in ("Nome", "E-mail", "Telefone"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Buscar")).to_be_visible()
    expect(page.get_by_role("link", name="Baixar CSV")).to_be_visible()
    # Numbers as Brazilian Portuguese writes them: a dot between thousands.
    expect(page.locator("#result-summary")).to_have_text("Contatos 1.001–1.100")
    expect(page.locator(".page-number")).to_have_text("Página 11")
    created = page.locator("table.contacts tbody tr").first.locator("td").nth(4)
    expect(created).to_have_text(table_day(contacts_for(ORG)[1000], "%d/%m/%Y"))
    flags = page.locator("table.contacts .kv li", has_text="newsletter:")
    expect(flags.first).to_have_text(re.compile(r"^newsletter: (Sim|Não)$"))
    screenshot(page, "search-pt-br-1280x800-light")


def test_the_switcher_offers_brazilian_portuguese(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.get_by_role("button", name="Language: Português Brasileiro").click()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    expect(page.get_by_label("Nome", exact=True)).to_be_visible()
    page.get_by_role("button", name="Idioma: Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_role("button", name="Idioma: English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_contact_in_brazilian_portuguese(new_page, stack):
    contact = contacts_for(ORG)[0]
    page = new_page(locale="pt-BR")
    page.goto(stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"))
    expect(page.get_by_role("link", name="Voltar aos resultados")).to_be_visible()
    created = page.locator("dt:has-text('Criado em') + dd")
    # Rewritten in the viewer's time zone by the page's script, the month in lower case.
    expect(created).to_have_text(
        re.compile(rf"^\d{{1,2}} de {PORTUGUESE_MONTH} de \d{{4}}(,| às) \d{{1,2}}:\d{{2}} UTC$")
    )
