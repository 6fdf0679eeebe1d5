"""The summary page through gunicorn: progress arrives as it counts, and a browser that leaves
stops the scan (no more calls upstream)."""

import time

import pytest
import requests

from tests.live import live_stack

pytestmark = [pytest.mark.live, pytest.mark.timeout(90)]


def requests_seen(api_url: str) -> int:
    stats = requests.get(api_url.removesuffix("/v1") + "/_demo/stats", timeout=5).json()
    return stats["requests"]


def test_leaving_the_summary_stops_its_scan() -> None:
    env = {"CONTACTSHIP_SCAN_CALLS_MAX": "1", "CONTACTSHIP_SCAN_CALLS_START": "1"}
    with live_stack(demo_args=["--latency-ms", "200"], org_ids=["org-tejo"], env=env) as stack:
        session = stack.login()
        before = requests_seen(stack.api_url)
        response = session.get(stack.url("/orgs/org-tejo/contacts/summary/"), stream=True)
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        lines = 0
        for chunk in response.iter_content(None):
            lines += chunk.count(b'class="progress-line"')
            if lines >= 2:
                break
        response.close()  # the browser leaves
        # The scan notices at its next progress line (a page later) and asks for nothing more.
        deadline = time.monotonic() + 20
        last = requests_seen(stack.api_url)
        while time.monotonic() < deadline:
            time.sleep(1.5)
            now = requests_seen(stack.api_url)
            if now == last:
                break
            last = now
        assert now == last, "the scan kept calling the API after the page was left"
        assert now - before < 24 - 5, f"{now - before} calls: the whole result was read"
        # The dashboard answers as before.
        assert session.get(stack.url("/orgs/org-tejo/contacts/"), timeout=10).status_code == 200
