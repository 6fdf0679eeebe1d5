"""One scan for everyone who asks: summaries of one search requested at once through two
dashboard processes sharing one Redis make the calls of a single scan (single flight)."""

import re
import threading
from contextlib import ExitStack

import pytest
import requests

from contacts.demo.data import contacts_for
from tests.live import LiveStack, live_stack
from tests.support import redis_server

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]

ORG = "org-tejo"  # 2,345 contacts: 24 pages
SCAN_END = re.compile(r"scan end org=org-tejo pages=(\d+)")


def api_calls(stack: LiveStack) -> int:
    stats = requests.get(stack.api_url.removesuffix("/v1") + "/_demo/stats", timeout=5).json()
    return stats["requests"]


def scans(stack: LiveStack) -> int:
    return len(SCAN_END.findall((stack.workdir / "gunicorn.log").read_text()))


def test_four_requests_through_two_processes_make_the_calls_of_one_scan(tmp_path):
    env = {
        # Two calls at a time, 100 ms each: a scan lasts over a second, long enough for the
        # four requests to meet.
        "CONTACTSHIP_SCAN_CALLS_START": "2",
        "CONTACTSHIP_SCAN_CALLS_MAX": "2",
        "DASHBOARD_SUMMARIES_PER_USER": "4",
        "DASHBOARD_SUMMARIES_PER_PROCESS": "4",
        "DASHBOARD_LOG_FORMAT": "text",
    }
    with ExitStack() as stacks:
        url = stacks.enter_context(redis_server(tmp_path))
        # Two replicas (one gunicorn worker each), each with a demo API of its own, so that
        # every call to Contactship is counted by the replica that made it.
        replicas = [
            stacks.enter_context(
                live_stack(
                    org_ids=[ORG],
                    demo_args=["--latency-ms", "100"],
                    env={**env, "REDIS_URL": url},
                )
            )
            for _ in range(2)
        ]
        sessions = [replica.login() for replica in replicas]

        def summary(index: int) -> str:
            return replicas[index % 2].url(f"/orgs/{ORG}/contacts/summary.json?refresh=1")

        # One summary alone: the calls of one scan.
        before = [api_calls(r) for r in replicas]
        alone = sessions[0].get(summary(0), timeout=60)
        assert alone.status_code == 200 and alone.json()["count"] == len(contacts_for(ORG))
        one_scan = api_calls(replicas[0]) - before[0]
        assert one_scan >= 24
        assert scans(replicas[0]) == 1

        # Four at once, two through each replica (refresh: each asks for a new count).
        before = [api_calls(r) for r in replicas]
        results: dict[int, requests.Response] = {}
        start = threading.Barrier(4)

        def ask(index: int) -> None:
            start.wait()
            results[index] = sessions[index % 2].get(summary(index), timeout=60)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        logs = "\n".join(r.log_tail("gunicorn", 40) for r in replicas)
        assert sorted(results) == [0, 1, 2, 3], logs
        bodies = [results[i].json() for i in range(4)]
        assert all(results[i].status_code == 200 for i in range(4)), logs
        assert {b["count"] for b in bodies} == {len(contacts_for(ORG))}
        # The same summary for everyone: the one counted by the leader.
        assert len({b["computed_at"] for b in bodies}) == 1
        made = sum(api_calls(r) - b for r, b in zip(replicas, before, strict=True))
        # Pages asked ahead past the end vary by a call or two from scan to scan.
        assert one_scan - 2 <= made <= one_scan + 2, logs
        assert scans(replicas[0]) + scans(replicas[1]) == 2, logs
