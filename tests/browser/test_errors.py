"""When Contactship fails, and when a contact does not exist: pages written for a person."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import session_cookies
from tests.browser.support import ROW_LINKS, list_path

pytestmark = pytest.mark.browser

ORG = "org-harbor"  # the failing stack's only organisation; its page 2 fails upstream


@pytest.fixture
def failing_page(new_page, failing_stack):
    return new_page(cookies=session_cookies(failing_stack))


def test_upstream_error_page(failing_page, failing_stack):
    """A page of results Contactship fails to give: the search page, its form and filters kept,
    the error in the results' place (it used to be an error page whose way back lost them)."""
    page = failing_page
    url = failing_stack.url(list_path(ORG, "full_name=a&page=2"))
    response = page.goto(url)
    assert response.status == 503
    expect(page).to_have_title(re.compile(r"^Contactship is not answering · "))
    alert = page.locator(".upstream-alert")
    expect(alert).to_contain_text("Contactship is not answering")
    expect(alert).to_contain_text("The contacts service is unavailable at the moment.")
    expect(page.get_by_label("Name")).to_have_value("a")
    expect(page.get_by_role("link", name="Try again")).to_have_attribute(
        "href", list_path(ORG, "full_name=a&page=2")
    )
    page.get_by_role("link", name="First page").click()
    expect(page).to_have_url(failing_stack.url(list_path(ORG, "full_name=a")))
    expect(page.locator(ROW_LINKS)).to_have_count(100)


def test_upstream_error_while_paging_keeps_the_search(failing_page, failing_stack):
    page = failing_page
    page.goto(failing_stack.url(list_path(ORG)))
    page.get_by_role("link", name="Next").click()
    alert = page.locator(".upstream-alert")
    expect(alert).to_contain_text("Contactship is not answering")
    expect(alert).to_be_focused()  # a screen reader starts reading the error
    expect(page.get_by_role("search")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    page.get_by_role("link", name="Try again").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(alert).to_contain_text("Contactship is not answering")
    page.get_by_role("link", name="First page").click()
    expect(page.locator(ROW_LINKS)).to_have_count(100)


def test_a_contact_that_does_not_exist(page, stack):
    response = page.goto(stack.url("/orgs/org-tejo/contacts/00000000-0000-4000-8000-000000000000/"))
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact not found")
    expect(page.get_by_role("link", name="Try again")).to_have_count(0)
    page.get_by_role("link", name="Back to the search").click()
    expect(page).to_have_url(stack.url(list_path("org-tejo")))
