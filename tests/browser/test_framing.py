"""The dashboard inside an intranet page of another origin (DASHBOARD_FRAME_ANCESTORS)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Framer
from tests.browser.support import ROW_LINKS, screenshot

pytestmark = pytest.mark.browser


def test_a_listed_origin_frames_the_dashboard_and_it_works_inside(new_page, stack, framer):
    page = new_page(logged_in=False)
    page.goto(Framer.origin(framer.allowed) + "/")
    frame = page.frame_locator("iframe")
    # Not logged in yet: the login page, in the compact layout, inside the frame.
    expect(frame.get_by_role("heading", name="Log in")).to_be_visible()
    expect(frame.locator("body")).to_have_class("embedded")
    frame.get_by_label("Username").fill(stack.username)
    frame.get_by_label("Password").fill(stack.password)
    frame.get_by_role("button", name="Log in").click()

    expect(frame.locator(ROW_LINKS)).to_have_count(100)
    frame.get_by_label("Name").fill("an")
    expect(frame.locator("#result-summary")).to_contain_text("matching your search")
    # The frame is 360 px wide: the page itself does not scroll sideways.
    width = frame.locator("html").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert width[0] <= width[1], width
    screenshot(page, "framed-360-light")


def test_an_unlisted_origin_cannot_frame_it(new_page, stack, framer):
    refusal = 'Content Security Policy directive: "frame-ancestors'
    page = new_page(logged_in=False, expected_console=(refusal,))
    with page.expect_console_message(lambda m: refusal in m.text) as refused:
        page.goto(Framer.origin(framer.unlisted) + "/")
    # Only the listed origin may frame it.
    assert f"frame-ancestors {Framer.origin(framer.allowed)}" in refused.value.text
    expect(page.get_by_role("heading", name="Intranet")).to_be_visible()
    # Chromium shows its own error page in the frame instead of the dashboard.
    frame = page.frames[1]
    frame.wait_for_load_state()
    assert frame.url.startswith("chrome-error://"), frame.url
