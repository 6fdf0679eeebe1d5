"""Helpers for the browser tests: sizes, reading the results table, axe-core, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from contacts.demo.data import contacts_for

ROOT = Path(__file__).resolve().parents[2]
# Debian's Chromium (apt-get install chromium); Playwright's own browser download is not used.
CHROMIUM = Path("/usr/bin/chromium")
ENABLE_VARIABLE = "DASHBOARD_BROWSER_TESTS"
# Written by the run, git-ignored (artifacts/ is in .gitignore).
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIDEBAR = {"width": 360, "height": 640}  # an iframe in an intranet's sidebar

ROW_LINKS = "table.contacts tbody td:first-child a"
CONTACT_ID = re.compile(r"/contacts/([0-9a-f-]{36})/")
SERIOUS = {"serious", "critical"}
REPEATED_ROWS = "table.contacts tbody tr:nth-child(n+21)"


def browser_gate(wanted: str | None, present: bool, chromium: Path = CHROMIUM) -> tuple[str, str]:
    """Whether the browser suite runs: ("run" | "skip" | "fail", the reason to show).

    `wanted` is DASHBOARD_BROWSER_TESTS: "1" requires the browser (CI), "0" switches the suite
    off, unset runs it when Chromium is there and skips it, saying how to enable it, when not.
    """
    if wanted == "0":
        return "skip", f"browser tests switched off ({ENABLE_VARIABLE}=0)"
    if present:
        return "run", ""
    if wanted == "1":
        return "fail", (
            f"{ENABLE_VARIABLE}=1 asks for the browser tests, but there is no Chromium at "
            f"{chromium}: install it with `apt-get install -y chromium`"
        )
    return "skip", (
        f"browser tests skipped: no Chromium at {chromium}. Install Debian's Chromium "
        f"(`apt-get install chromium`) to run them; CI sets {ENABLE_VARIABLE}=1 to make a "
        "missing browser a failure"
    )


def list_path(org_id: str = "org-tejo", query: str = "") -> str:
    return f"/orgs/{org_id}/contacts/" + (f"?{query}" if query else "")


def row_ids(page) -> list[str]:
    """The contact ids of the rows on screen, in order."""
    hrefs = page.locator(ROW_LINKS).evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [CONTACT_ID.search(href).group(1) for href in hrefs]


def ids(contacts) -> list[str]:
    return [c["id"] for c in contacts]


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    # The rows of a results table are alike; checking a hundred of them takes axe seconds.
    results = Axe().run(page, context={"exclude": [[REPEATED_ROWS]]})
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            what = f"{violation['id']} ({violation['impact']}): {violation['help']}"
            found.append(f"{what} {targets}")
    return found


def rich_contact(org_id: str = "org-tejo") -> dict:
    """A contact with the most kinds of additional data, so its page shows them all."""
    return max(
        contacts_for(org_id)[:500],
        key=lambda c: len({d["type"] for d in c.get("additional_data") or []}),
    )


def screenshot(page, name: str) -> Path:
    """Save what the page shows now as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path)
    return path
