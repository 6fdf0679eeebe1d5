"""When the browser suite runs, skips or fails (no browser needed for these)."""

import pytest

from tests.browser.support import browser_gate


@pytest.mark.parametrize(
    "wanted, present, verdict",
    [
        (None, True, "run"),
        ("", True, "run"),
        ("1", True, "run"),
        ("0", True, "skip"),
        (None, False, "skip"),
        ("1", False, "fail"),
        ("0", False, "skip"),
    ],
)
def test_the_variable_and_the_browser_decide(wanted, present, verdict):
    assert browser_gate(wanted, present)[0] == verdict


def test_a_skip_says_how_to_enable_the_suite():
    _, why = browser_gate(None, present=False)
    assert "apt-get install chromium" in why and "DASHBOARD_BROWSER_TESTS=1" in why


def test_a_failure_names_the_missing_browser():
    _, why = browser_gate("1", present=False)
    assert "/usr/bin/chromium" in why and "apt-get install -y chromium" in why
