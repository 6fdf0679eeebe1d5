"""Quick find and bulk lookup in a real browser: a pasted list with progress, Cancel and the
download; the header's box with a phone number typed with spaces."""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from playwright.sync_api import expect

from contacts.demo.data import contacts_for
from contacts.exports.layout import spreadsheet_safe
from tests.browser.conftest import session_cookies
from tests.browser.support import SCREENSHOTS, list_path, screenshot, serious_violations
from tests.live import LiveStack, live_stack

pytestmark = pytest.mark.browser

ORG = "org-tejo"
LOOKUP = f"/orgs/{ORG}/contacts/lookup/"


@pytest.fixture(scope="module")
def slow_stack(chromium) -> Iterator[LiveStack]:
    """Contactship answering in 20 ms, as a real API might: slow enough to watch progress."""
    with live_stack(demo_args=["--latency-ms", "20"], org_ids=[ORG]) as running:
        yield running


@pytest.fixture
def slow_page(new_page, slow_stack):
    return new_page(cookies=session_cookies(slow_stack))


def complete(count: int) -> list[dict]:
    return [c for c in contacts_for(ORG) if c.get("email") and c.get("phone_number")][:count]


def spaced(phone: str) -> str:
    """The number as people type it, with spaces and a dash: +55 21 7575-75651."""
    return f"{phone[:3]} {phone[3:5]} {phone[5:9]}-{phone[9:]}"


def test_paste_a_list_watch_progress_and_download_the_result(slow_page, slow_stack):
    page = slow_page
    known = complete(200)
    values = []
    for n, contact in enumerate(known):
        values.append(contact["email"] if n % 2 else spaced(contact["phone_number"]))
        values.append(f"nobody{n}@example.invalid")
    values += ["hello there", known[1]["email"].upper()]  # one invalid, a repeat of line 3
    page.goto(slow_stack.url(LOOKUP))
    page.get_by_label("Emails, phone numbers or contact ids, one per line").fill("\n".join(values))
    page.get_by_role("button", name="Look up").click()

    count = page.locator("#lookup-count")
    # Under way: a count of the values done so far, and a Cancel button.
    expect(count).to_have_text(re.compile(rf"^\d+ of {len(values)} values looked up$"))
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    done_so_far = int(count.inner_text().split()[0])
    assert done_so_far < len(values)
    screenshot(page, "lookup-progress")

    expect(count).to_have_text(
        f"All {len(values)} values looked up. 200 found, 200 not found, 1 not recognised, "
        "1 repeated",
        timeout=60_000,
    )
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    rows = page.locator("#lookup-table tbody tr")
    expect(rows).to_have_count(len(values))
    statuses = rows.locator("td.status").all_inner_texts()
    assert statuses[:4] == ["Found", "Not found", "Found", "Not found"]
    assert statuses[-2:] == ["Not recognised", "Repeat"]
    reasons = rows.locator("td.reason").all_inner_texts()
    assert reasons[-2:] == ["Not an email, a phone number or a contact id", "Repeats line 3"]
    expect(rows.nth(0).locator("td.name").get_by_role("link")).to_have_text(known[0]["full_name"])
    screenshot(page, "lookup-result")
    assert not serious_violations(page)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    name = download.suggested_filename
    assert re.fullmatch(r"lookup-tejo-comercial-\d{4}-\d{2}-\d{2}-\d{4}\.csv", name), name
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    result = list(csv.DictReader(io.StringIO(text, newline="")))
    # "+55 21 ..." would be a formula to a spreadsheet: kept as text, as exports do.
    assert [r["input"] for r in result] == [spreadsheet_safe(v) for v in values]
    assert [r["status"] for r in result[:4]] == ["found", "not_found", "found", "not_found"]
    assert result[0]["id"] == known[0]["id"] and result[0]["input_type"] == "phone_number"
    assert (result[-1]["status"], result[-1]["id"]) == ("duplicate", known[1]["id"])


def test_a_long_lookup_can_be_cancelled(slow_page, slow_stack):
    page = slow_page
    values = [f"nobody{n}@example.invalid" for n in range(3000)]
    page.goto(slow_stack.url(LOOKUP))
    page.get_by_label("Emails, phone numbers or contact ids, one per line").evaluate(
        "(area, text) => { area.value = text; }", "\n".join(values)
    )
    page.get_by_role("button", name="Look up").click()
    count = page.locator("#lookup-count")
    expect(count).to_have_text(re.compile(r"^\d+ of 3000 values looked up$"))
    page.get_by_role("button", name="Cancel").click()
    expect(count).to_have_text(re.compile(r"^Cancelled after \d+ of 3000 values\.$"))
    shown = page.locator("#lookup-table tbody tr").count()
    assert 0 < shown < 3000
    page.wait_for_timeout(500)
    assert page.locator("#lookup-table tbody tr").count() == shown  # nothing more comes


def test_look_up_clicked_again_starts_over_and_keeps_its_cancel_button(slow_page, slow_stack):
    page = slow_page
    values = [f"nobody{n}@example.invalid" for n in range(3000)]
    page.goto(slow_stack.url(LOOKUP))
    page.get_by_label("Emails, phone numbers or contact ids, one per line").evaluate(
        "(area, text) => { area.value = text; }", "\n".join(values)
    )
    look_up = page.get_by_role("button", name="Look up")
    count = page.locator("#lookup-count")
    look_up.click()
    expect(count).to_have_text(re.compile(r"^\d+ of 3000 values looked up$"))
    look_up.click()  # again, while the first is running: the first is dropped
    page.wait_for_timeout(1000)
    # The second lookup's progress, not the first one's "Cancelled", and its Cancel button.
    expect(count).to_have_text(re.compile(r"^\d+ of 3000 values looked up$"))
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(count).to_have_text(re.compile(r"^Cancelled after \d+ of 3000 values\.$"))


@pytest.mark.parametrize(
    "locale, done",
    [
        ("en-US", "1 value looked up. 1 found"),
        ("es-ES", "Se buscó 1 valor. 1 encontrado"),
    ],
)
def test_one_value_is_counted_in_the_singular(new_page, stack, locale, done):
    page = new_page(cookies=session_cookies(stack), locale=locale)
    page.goto(stack.url(LOOKUP))
    page.locator("#id_identifiers").fill(complete(1)[0]["email"])
    page.locator("#lookup-submit").click()
    expect(page.locator("#lookup-count")).to_have_text(done)


def test_a_bad_list_says_so_and_keeps_it(page, stack):
    page.goto(stack.url(LOOKUP))
    field = page.get_by_label("Emails, phone numbers or contact ids, one per line")
    text = "\n".join(f"p{n}@example.com" for n in range(5001))
    field.evaluate("(area, text) => { area.value = text; }", text)
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("alert")).to_contain_text("more than 5,000 values")
    assert field.input_value().count("\n") == 5000


def test_quick_find_with_a_phone_number_typed_with_spaces(page, stack):
    contact = complete(5)[4]
    page.goto(stack.url(list_path(ORG)))
    box = page.get_by_placeholder("Email, phone or contact id")
    box.fill(spaced(contact["phone_number"]))
    box.press("Enter")
    expect(page).to_have_url(stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(contact["full_name"])
    screenshot(page, "quick-find-contact")


def test_quick_find_without_exact_match_lands_on_the_partial_matches(page, stack):
    contact = complete(1)[0]
    typed = contact["email"][1:]
    page.goto(stack.url(list_path(ORG)))
    page.get_by_placeholder("Email, phone or contact id").fill(typed)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status").first).to_contain_text("No contact has exactly")
    expect(page.get_by_label("Email")).to_have_value(typed)
    # "Contact 1" when one contact matches, "Contacts 1–N" for more.
    expect(page.locator("#result-summary")).to_contain_text(re.compile(r"Contact 1\b|Contacts 1–"))
    screenshot(page, "quick-find-partial")


# --- readable results, and a lookup on a bad day --------------------------------------------------

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
DONE = {"en-US": "values looked up", "es-ES": "valores"}


def mixed_values() -> list[str]:
    """A found email, a spaced phone, a phone whose + a spreadsheet dropped, a miss, an invalid
    value, a long address and a repeat."""
    known = complete(4)
    # A Portuguese number: org-tejo reads national numbers as Brazilian, and a Brazilian one
    # without its + (55…) is read as Brazilian already.
    plus_dropped = next(
        c["phone_number"]
        for c in contacts_for(ORG)
        if (c.get("phone_number") or "").startswith("+351")
        and phonenumbers.is_valid_number(phonenumbers.parse(c["phone_number"]))
    )
    return [
        known[0]["email"],
        spaced(known[1]["phone_number"]),
        plus_dropped.removeprefix("+"),
        "maria.fernanda.rodrigues-albuquerque.de.souza@comercial-exportacoes.example.com.br",
        "hello there",
        known[0]["email"].upper(),
        known[3]["email"],
    ]


def shoot(page, name: str) -> None:
    """The whole page, long as it is, as artifacts/screenshots/lookup-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"lookup-{name}.png", full_page=True)


CLIPPED = """(table) => Array.from(table.querySelectorAll("tbody td"))
    .filter((td) => td.scrollWidth > td.clientWidth + 1)
    .map((td) => td.className + ": " + td.textContent)"""
UNLABELLED = """(table) => Array.from(table.querySelectorAll("tbody td"))
    .filter((td) => td.offsetParent !== null)
    .filter((td) => !getComputedStyle(td, "::before").content.includes(td.dataset.label))
    .map((td) => td.className)"""


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_result_reads_on_a_desktop_and_on_a_phone(new_page, stack, locale, viewport):
    page = new_page(cookies=session_cookies(stack), locale=locale, viewport=viewport)
    page.goto(stack.url(LOOKUP))
    values = mixed_values()
    page.locator("#id_identifiers").fill("\n".join(values))
    page.locator("#lookup-submit").click()
    expect(page.locator("#lookup-count")).to_contain_text(DONE[locale])
    expect(page.locator("#lookup-cancel")).to_be_hidden()  # done
    rows = page.locator("#lookup-table tbody tr")
    expect(rows).to_have_count(len(values))
    shoot(page, f"result-{locale}-{viewport['width']}")
    table = page.locator("#lookup-table")
    assert table.evaluate(CLIPPED) == []  # every value whole, none cut
    region = page.locator("#lookup-table-region")
    # The person's own value is never squeezed: an 81-character one takes three lines at most.
    long_value = rows.nth(3).locator("td.value")
    assert long_value.evaluate("(td) => td.getClientRects()[0].height") <= 3 * 20 + 12
    # Phones grouped as the search page shows them, the +-less one read as international.
    phone = rows.nth(2).locator("td.phone")
    expect(phone).to_have_text(re.compile(r"^\+\d+( \d[\d-]*)+$"))
    expect(rows.nth(2).locator("td.reason")).to_contain_text("+")
    if viewport is PHONE:
        # A card per value, every value with its label, nothing wider than the screen.
        assert table.evaluate(UNLABELLED) == []
        width = region.evaluate("(r) => [r.scrollWidth, r.clientWidth]")
        assert width[0] <= width[1]


@pytest.fixture(scope="module")
def rate_limited_stack(chromium) -> Iterator[LiveStack]:
    """Contactship rate-limiting its first three requests with Retry-After: 30, then well (the
    sign-in's landing page takes one or two of them)."""
    with live_stack(
        demo_args=["--rate-limit", "30", "--rate-limit-count", "3"], org_ids=[ORG]
    ) as running:
        yield running


def test_a_rate_limited_lookup_says_so_and_retries_the_failed_ones(new_page, rate_limited_stack):
    running = rate_limited_stack
    # Signed in through the form; its landing page (the search) may be the one rate-limited.
    session = running.login_as(running.username, running.password)
    cookies = [
        {"name": c.name, "value": c.value, "url": running.dashboard_url} for c in session.cookies
    ]
    page = new_page(cookies=cookies)
    page.goto(running.url(LOOKUP))
    values = [c["email"] for c in complete(10)] + ["hello there"]
    page.locator("#id_identifiers").fill("\n".join(values))
    page.locator("#lookup-submit").click()
    count = page.locator("#lookup-count")
    expect(page.locator("#lookup-cancel")).to_be_hidden()
    expect(count).to_contain_text("not asked: Contactship is busy, try again in 30 s")
    banner = page.locator("#lookup-stopped")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Contactship is busy")  # the search page's title
    failed = page.locator("#lookup-table tbody tr.status-failed td.status").first
    invalid = page.locator("#lookup-table tbody tr.status-invalid td.status").first
    expect(failed).to_have_text("Failed")
    expect(invalid).to_have_text("Not recognised")
    styles = "(td) => [getComputedStyle(td).color, getComputedStyle(td).backgroundColor]"
    assert failed.evaluate(styles) != invalid.evaluate(styles)
    shoot(page, "rate-limited-en-1280")
    assert not serious_violations(page)

    retry = page.get_by_role("button", name="Retry the failed ones")
    for _ in range(3):  # each retry asks again for what is left; Contactship is well now
        retry.click()
        expect(page.locator("#lookup-cancel")).to_be_hidden()  # this retry is done
        if "All 11 values looked up" in count.inner_text():
            break
    expect(count).to_have_text("All 11 values looked up. 10 found, 1 not recognised")
    expect(banner).to_be_hidden()
    expect(retry).to_be_hidden()
    expect(page.locator("#lookup-table tbody tr.status-failed")).to_have_count(0)
    shoot(page, "rate-limited-retried-en-1280")
