"""The duplicates page in a real browser: the groups of contacts with the same name, each with
its key and contacts; the switch to another key keeps the search; the empty state; the CSV
download from the page; wide and at 360 px, with axe-core's verdict."""

import csv
import io

import pytest
from playwright.sync_api import expect

from contacts.demo.data import contacts_for
from tests.browser.support import screenshot, serious_violations
from tests.duplicate_keys import expected_key

pytestmark = pytest.mark.browser

ORG = "org-tejo"


def name_groups() -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for raw in contacts_for(ORG):
        key = expected_key(raw, "name", "")
        if key is not None:
            groups.setdefault(key, []).append(raw["id"])
    return [(key, ids) for key, ids in groups.items() if len(ids) > 1]


def test_the_groups_their_keys_the_switch_and_the_download(new_page, stack):
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto(stack.url(f"/orgs/{ORG}/contacts/duplicates/?by=name"))
    expected = name_groups()
    groups = page.locator("section.duplicate-group")
    expect(groups).to_have_count(min(len(expected), 100), timeout=30_000)
    expect(page.locator(".scan-progress")).to_be_hidden()
    first_key, first_ids = expected[0]
    expect(groups.first.locator(".duplicate-key")).to_have_text(first_key)
    expect(groups.first.locator("tbody tr")).to_have_count(len(first_ids))
    expect(page.get_by_role("link", name="Name")).to_have_attribute("aria-current", "page")
    assert serious_violations(page) == []
    screenshot(page, "duplicates-by-name-1280")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.failure() is None
    rows = list(csv.DictReader(io.StringIO(download.path().read_bytes().decode("utf-8-sig"))))
    assert [(r["key"], r["id"]) for r in rows] == [
        (key, id_) for key, ids in expected for id_ in ids
    ]

    page.get_by_role("link", name="Phone").click()
    expect(page.locator("#duplicates")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("link", name="Phone")).to_have_attribute("aria-current", "page")


def test_an_empty_result_at_360_px(new_page, stack):
    page = new_page(viewport={"width": 360, "height": 800})
    page.goto(stack.url(f"/orgs/{ORG}/contacts/duplicates/?by=email&full_name=zzzq"))
    expect(page.locator(".empty-state")).to_contain_text(
        "No two of the matching contacts share an email address."
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert serious_violations(page) == []
    screenshot(page, "duplicates-empty-360")
