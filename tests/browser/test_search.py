"""What a team member does all day, in a real browser: log in, filter, page, open, download."""

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from contacts.contact.display import phone_display
from contacts.demo.data import contacts_for, matches
from tests.browser.support import ROW_LINKS, ids, list_path, row_ids, screenshot

pytestmark = pytest.mark.browser

ORG = "org-tejo"


def htmx_requests(page) -> list[str]:
    """The URLs of the results requests htmx makes from now on (filled in as they happen)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.headers.get("hx-request") else None)
    return seen


def test_log_in_then_choose_an_organisation(new_page, stack):
    page = new_page(logged_in=False)
    page.goto(stack.url("/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_label("Username")).to_be_focused()
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Choose an organisation")).to_be_visible()
    page.get_by_role("link", name="Tejo Comercial").click()
    expect(page).to_have_url(stack.url(list_path(ORG)))
    expect(page.locator(ROW_LINKS)).to_have_count(100)
    assert row_ids(page) == ids(contacts_for(ORG)[:100])


def test_a_wrong_password_says_so(new_page, stack):
    page = new_page(logged_in=False)
    page.goto(stack.url("/accounts/login/"))
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill("not-the-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")


@pytest.mark.parametrize(
    "label, typed, param, value",
    [
        ("Name", "ana", "full_name", "ana"),
        ("Email", "gmail", "email", "gmail"),
        # Typed as people do; sent as digits.
        ("Phone", "+351 91-23", "phone_number", "+3519123"),
    ],
)
def test_filter_by_each_field_as_you_type(page, stack, label, typed, param, value):
    page.goto(stack.url(list_path(ORG)))
    requests = htmx_requests(page)
    page.get_by_label(label, exact=True).press_sequentially(typed, delay=40)

    expected = matches(ORG, **{param: value})
    assert expected, "the demo data should match this search"
    # The address follows the search (without empty fields), so it can be shared.
    expect(page).to_have_url(re.compile(rf"\?{re.escape(urlencode({param: value}))}$"))
    # One contact is "Contact 1", not "Contacts 1–1".
    shown = "Contact 1" if len(expected) == 1 else f"Contacts 1–{min(len(expected), 100)}"
    expect(page.locator("#result-summary")).to_contain_text(shown)
    assert row_ids(page) == ids(expected[:100])
    # Debounced: a request when typing pauses (here, once), not one per key.
    assert 1 <= len(requests) < len(typed), requests
    # Only the results were replaced: the field keeps the focus and what was typed.
    expect(page.get_by_label(label, exact=True)).to_be_focused()
    expect(page.get_by_label(label, exact=True)).to_have_value(typed)


def test_filter_by_several_fields(page, stack):
    phone = contacts_for(ORG)[7]["phone_number"][:8]  # a few numbers of one mobile prefix
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Email").fill("a")
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("Phone").press("Enter")

    expected = matches(ORG, email="a", phone_number=phone)
    expect(page).to_have_url(re.compile(r"\?email=a&phone_number=%2B\d+$"))
    expect(page.locator(ROW_LINKS)).to_have_count(len(expected))
    assert row_ids(page) == ids(expected)
    expect(page.get_by_role("link", name="Clear")).to_be_visible()

    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(stack.url(list_path(ORG)))
    expect(page.get_by_label("Email")).to_have_value("")
    expect(page.get_by_role("link", name="Clear")).to_be_hidden()


def test_page_forward_and_back(page, stack):
    expected = ids(matches(ORG, full_name="ana"))
    assert len(expected) > 300
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    summary = page.locator("#result-summary")

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?full_name=ana&page=2$"))
    expect(summary).to_contain_text("Contacts 101–200")
    assert row_ids(page) == expected[100:200]
    expect(summary).to_be_focused()  # the reader starts at the top of the new page

    page.get_by_role("link", name="Next").click()
    expect(summary).to_contain_text("Contacts 201–300")

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?full_name=ana&page=2$"))
    expect(summary).to_contain_text("Contacts 101–200")
    assert row_ids(page) == expected[100:200]

    page.get_by_role("link", name="Previous").click()
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))
    expect(summary).to_contain_text("Contacts 1–100")
    assert row_ids(page) == expected[:100]
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)

    page.go_back()
    expect(summary).to_contain_text("Contacts 101–200")
    assert row_ids(page) == expected[100:200]


def test_open_a_contact_and_come_back_to_the_same_results(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Name").fill("ana")
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")

    contact = matches(ORG, full_name="ana")[100]
    page.locator(ROW_LINKS).first.click()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact['id']}/\?full_name=ana&page=2$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(contact["full_name"])
    # Shown in international format; the link dials the stored number.
    phone = page.locator(f'a[href="tel:{contact["phone_number"]}"]')
    expect(phone).to_have_text(phone_display(contact["phone_number"]))

    # The browser's Back button: the whole search page, not the fragment htmx fetched for it.
    page.go_back()
    expect(page.get_by_role("search")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("ana")
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")

    page.locator(ROW_LINKS).first.click()
    page.get_by_role("link", name="Back to results").click()
    expect(page).to_have_url(re.compile(r"\?full_name=ana&page=2$"))
    assert row_ids(page)[0] == contact["id"]


def test_download_the_csv_of_a_search(page, stack):
    page.goto(stack.url(list_path(ORG, "full_name=ana")))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    name = download.suggested_filename
    assert re.fullmatch(r"contacts-tejo-comercial-name-ana-\d{4}-\d{2}-\d{2}-\d{4}\.csv", name)
    assert download.failure() is None
    text = download.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:4] == ["id", "created_at", "full_name", "email"]
    expected = matches(ORG, full_name="ana")
    assert [row[0] for row in rows[1:]] == ids(expected)
    assert [row[2] for row in rows[1:]] == [c["full_name"] for c in expected]
    # The download happened beside the page, which is still the search.
    expect(page).to_have_url(re.compile(r"\?full_name=ana$"))


def test_no_results(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Name").fill("zzzz-nobody")
    expect(page.locator("#result-summary")).to_have_text("No contacts match these filters.")
    expect(page.locator("table.contacts")).to_have_count(0)
    # Nothing to download or page through.
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    expect(page.get_by_role("link", name="Next")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("No contacts match these filters.")


def test_an_invalid_field_is_marked_as_you_type_and_cleared_when_fixed(page, stack):
    page.goto(stack.url(list_path(ORG)))
    phone = page.get_by_label("Phone")
    phone.fill("call me")
    error = page.locator("#id_phone_number_error")
    expect(error).to_contain_text("Use digits only")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_attribute("aria-describedby", "id_phone_number_error")
    expect(page.get_by_role("status")).to_contain_text("Use digits only")

    phone.fill("+55")
    expect(error).to_be_empty()
    expect(phone).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#result-summary")).to_contain_text("Contacts 1–")


def test_the_search_works_without_javascript(new_page, stack):
    page = new_page(java_script_enabled=False)
    page.goto(stack.url(list_path(ORG)))
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Name").press("Enter")
    # A plain form submits every field, the dashboard's five (empty here) too.
    expect(page).to_have_url(
        re.compile(
            r"\?full_name=ana&email=&phone_number="
            r"&country=&created_from=&created_to=&email_domain=&quality=$"
        )
    )
    assert row_ids(page) == ids(matches(ORG, full_name="ana")[:100])
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#result-summary")).to_contain_text("Contacts 101–200")


def test_a_slow_answer_shows_a_loading_state(page, stack):
    page.goto(stack.url(list_path(ORG)))
    results = page.locator("#results")
    loading = page.locator(".loading")
    expect(loading).to_be_hidden()
    # Hold the answer back, as a slow Contactship would, for as long as the test looks.
    held = []
    page.route(lambda url: "full_name=an" in url, lambda route: held.append(route))

    page.get_by_label("Name").fill("an")
    expect(results).to_have_attribute("aria-busy", "true")
    expect(loading).to_be_visible()
    expect(loading).to_have_text("Asking Contactship…")
    expect(page.locator("#result-summary")).to_have_text("Contacts 1–100")  # the old results
    # It covers none of the result bar's buttons (it sits where the old count is).
    pill = loading.bounding_box()
    for control in page.locator(".result-actions a, .result-actions button").all():
        box = control.bounding_box()
        apart = (
            box["x"] >= pill["x"] + pill["width"]
            or pill["x"] >= box["x"] + box["width"]
            or box["y"] >= pill["y"] + pill["height"]
            or pill["y"] >= box["y"] + box["height"]
        )
        assert apart, (control.inner_text(), box, pill)
    screenshot(page, "loading-1280x800-light")

    assert len(held) == 1
    held[0].continue_()
    expect(results).not_to_have_attribute("aria-busy", "true")
    expect(loading).to_be_hidden()
    expected = matches(ORG, full_name="an")
    expect(page.locator("#result-summary")).to_contain_text("matching your search")
    assert row_ids(page) == ids(expected[:100])


def test_a_session_that_ended_while_typing_leads_to_the_login_page(page, stack):
    page.goto(stack.url(list_path(ORG)))
    page.context.clear_cookies()  # as when the session ends (DASHBOARD_SESSION_AGE)
    page.get_by_label("Name").fill("ana")
    # The whole login page, not a login form squeezed into the results region.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("search")).to_have_count(0)
