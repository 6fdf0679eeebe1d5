"""The metrics through the production gunicorn configuration with two workers and the demo API:
whichever worker answers a scrape, it shows the sum over both, counting exactly the calls the
demo API received; a fault moves exactly its outcome; an export's rows counter equals the rows
of its file; without the token, `/metrics` is a 404."""

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from contacts.demo.data import contacts_for
from tests.live import LiveStack, live_stack

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(120)]

TOKEN = "live-scrape-token-" + "y" * 20
ORG = "org-harbor"
PRODUCTION = ["-c", "python:dashboard.gunicorn"]
SCRAPES = 8


def _stack(metrics_dir: Path | None, demo_args: tuple[str, ...] = ()):
    """Two workers; `metrics_dir` None: the server makes a temporary directory of its own."""
    env = {
        "DASHBOARD_METRICS_TOKEN": TOKEN,
        # Every page a call: what the demo API counts is what the dashboard made.
        "CONTACTSHIP_CACHE_TTL": "0",
    }
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return live_stack(
        org_ids=[ORG], workers=2, gunicorn_args=PRODUCTION, demo_args=demo_args, env=env
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LiveStack]:
    metrics_dir = tmp_path_factory.mktemp("metrics")
    # An earlier run's file: the server must start from nothing.
    (metrics_dir / "counter_1.db").write_bytes(b"stale")
    with _stack(metrics_dir) as running:
        running.env["METRICS_DIR"] = str(metrics_dir)
        yield running


def scrape(stack: LiveStack, token: str | None = TOKEN) -> requests.Response:
    # A new connection each time, so that either worker may answer.
    headers = {"Connection": "close"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(stack.url("/metrics"), headers=headers, timeout=10)


def samples(stack: LiveStack) -> dict[str, dict[tuple, float]]:
    response = scrape(stack)
    assert response.status_code == 200
    found: dict[str, dict[tuple, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(found: dict[str, dict[tuple, float]], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for key, v in found.get(name, {}).items() if wanted <= set(key))


def login_without_redirect(stack: LiveStack) -> requests.Session:
    """Logged in, without following the redirect to the search page (a failing upstream)."""
    session = requests.Session()
    login_url = stack.url("/accounts/login/")
    session.get(login_url, timeout=10).raise_for_status()
    data = {
        "username": stack.username,
        "password": stack.password,
        "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
    }
    session.post(
        login_url, data=data, headers={"Referer": login_url}, allow_redirects=False, timeout=10
    )
    assert "sessionid" in session.cookies
    return session


def demo_requests(stack: LiveStack) -> int:
    stats = requests.get(stack.api_url.removesuffix("/v1") + "/_demo/stats", timeout=10)
    return stats.json()["requests"]


def test_metrics_without_the_right_token_is_404(stack: LiveStack) -> None:
    assert scrape(stack, token=None).status_code == 404
    assert scrape(stack, token="not-" + TOKEN).status_code == 404
    assert scrape(stack).status_code == 200


def test_the_server_started_from_an_empty_directory(stack: LiveStack) -> None:
    assert not (Path(stack.env["METRICS_DIR"]) / "counter_1.db").exists()


def test_every_scrape_shows_the_sum_of_the_calls_made(stack: LiveStack) -> None:
    session = stack.login()
    before_api = demo_requests(stack)
    before = total(samples(stack), "contactship_requests_total")
    for contact in contacts_for(ORG)[:12]:
        # A new connection for each page: the calls spread over both workers.
        page = session.get(
            stack.url(f"/orgs/{ORG}/contacts/{contact['id']}/"),
            headers={"Connection": "close"},
            timeout=10,
        )
        assert page.status_code == 200
    made = demo_requests(stack) - before_api
    assert made >= 12
    seen = [samples(stack) for _ in range(SCRAPES)]
    totals = {total(found, "contactship_requests_total") - before for found in seen}
    assert totals == {made}, "each scrape, from either worker, counts every call once"
    ok = {
        total(found, "contactship_requests_total", endpoint="detail", outcome="ok")
        for found in seen
    }
    assert len(ok) == 1 and ok.pop() >= 12
    # Both workers wrote counts of their own: the sums above are over two processes.
    pids = stack.worker_pids(2)
    files = {path.name for path in Path(stack.env["METRICS_DIR"]).glob("counter_*.db")}
    assert {f"counter_{pid}.db" for pid in pids} <= files


def test_an_exports_rows_counter_equals_its_files_rows(stack: LiveStack) -> None:
    session = stack.login()
    before = samples(stack)
    response = session.get(stack.export_url(ORG), timeout=30)
    assert response.status_code == 200
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert len(rows) == 137
    after = samples(stack)
    name = "dashboard_export_rows_total"
    assert total(after, name, format="csv") - total(before, name, format="csv") == len(rows)
    exports = "dashboard_exports_total"
    completed = total(after, exports, format="csv", outcome="completed")
    assert completed - total(before, exports, format="csv", outcome="completed") == 1


def test_a_failing_upstream_moves_only_server_error(monkeypatch) -> None:
    # Without PROMETHEUS_MULTIPROC_DIR: the server's own temporary directory serves as well.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with _stack(None, demo_args=("--status", "503")) as faulty:
        session = login_without_redirect(faulty)
        before_api = demo_requests(faulty)
        before = samples(faulty)
        page = session.get(faulty.url(f"/orgs/{ORG}/contacts/"), timeout=30)
        assert page.status_code == 503
        made = demo_requests(faulty) - before_api
        assert made >= 1
        after = samples(faulty)
        name = "contactship_requests_total"
        moved = {
            key: after[name][key] - before[name].get(key, 0.0)
            for key in after[name]
            if after[name][key] != before[name].get(key, 0.0)
        }
        assert list(moved.values()) == [made]
        (labels,) = moved
        assert dict(labels) == {"organisation": ORG, "endpoint": "list", "outcome": "server_error"}
