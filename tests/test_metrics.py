"""The metrics in one process (as under runserver, tests and commands): `/metrics` and its token,
each upstream fault moving exactly its `outcome`, refusals, the breaker's gauge, exports,
summaries and sign-ins. `test_live_metrics.py` has the same through gunicorn's workers."""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY

from contacts import metrics
from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from dashboard import gunicorn as gunicorn_conf
from tests.live import free_port
from tests.support import body_of, csv_rows
from tests.test_security import intranet_sign_in  # noqa: F401 - a fixture
from tests.test_settings import settings_module_under

pytestmark = pytest.mark.django_db

ORG = "org-harbor"
CONTACT_ID = contacts_for(ORG)[0]["id"]
TOKEN = "scrape-" + "x" * 24


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls(org: str = ORG, endpoint: str = "detail") -> dict[str, float]:
    return {
        outcome: value(
            "contactship_requests_total", organisation=org, endpoint=endpoint, outcome=outcome
        )
        for outcome in metrics.CALL_OUTCOMES
    }


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


# --- /metrics and its token ----------------------------------------------------------------


def test_metrics_is_404_while_the_token_is_unset(client, settings):
    settings.DASHBOARD_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer"],
)
def test_metrics_without_the_right_token_is_404(client, settings, authorization):
    settings.DASHBOARD_METRICS_TOKEN = TOKEN
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert TOKEN not in response.content.decode()


def test_metrics_with_the_token_lists_every_family(client, settings, upstream):
    settings.DASHBOARD_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    for family in metrics.FAMILIES:
        assert f"\n{family}" in text, family
    # Declared at zero for every configured organisation, before any call.
    assert 'contactship_requests_total{endpoint="list",organisation="org-andes",outcome="ok"}' in (
        text
    )
    assert TOKEN not in text


def test_a_post_with_the_token_is_404(client, settings):
    settings.DASHBOARD_METRICS_TOKEN = TOKEN
    response = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404


# --- each upstream fault moves exactly its outcome -------------------------------------------

FAULTS = {
    "ok": Faults(),
    "server_error": Faults(status=500),
    "rejected": Faults(status=401),
    "bad_request": Faults(status=400),
    "rate_limited": Faults(rate_limit_retry_after=30),
    "timeout": Faults(hang=True),
    "bad_answer": Faults(non_json=True),
}


@pytest.mark.parametrize("outcome", list(FAULTS))
def test_each_fault_moves_its_outcome_once_per_call(member_client, faulty, outcome):
    server = faulty(FAULTS[outcome])
    before = calls()
    member_client.get(reverse("contact_detail", args=[ORG, CONTACT_ID]))
    made = server.requests_seen
    assert made >= 1
    assert moved(before, calls()) == {outcome: made}


def test_a_contact_that_does_not_exist_is_not_found(member_client, faulty):
    server = faulty(Faults())
    before = calls()
    response = member_client.get(reverse("contact_detail", args=[ORG, "no-such-contact"]))
    assert response.status_code == 404
    assert moved(before, calls()) == {"not_found": server.requests_seen}


def test_an_answer_too_large_is_a_bad_answer(member_client, faulty, settings):
    settings.CONTACTSHIP_MAX_BODY_BYTES = 50
    server = faulty(Faults())
    before = calls()
    member_client.get(reverse("contact_detail", args=[ORG, CONTACT_ID]))
    assert moved(before, calls()) == {"bad_answer": server.requests_seen}


def test_an_api_nobody_answers_is_a_connection_error(member_client, faulty, settings):
    faulty(Faults())
    settings.CONTACTSHIP_API_URL = f"http://127.0.0.1:{free_port()}/v1"
    before = calls()
    member_client.get(reverse("contact_detail", args=[ORG, CONTACT_ID]))
    changed = moved(before, calls())
    assert list(changed) == ["connection_error"]
    assert changed["connection_error"] >= 1


def test_a_search_page_counts_as_the_list_endpoint(member_client, faulty):
    server = faulty(Faults(status=503))
    before, detail_before = calls(endpoint="list"), calls()
    member_client.get(reverse("contact_list", args=[ORG]))
    assert moved(before, calls(endpoint="list")) == {"server_error": server.requests_seen}
    assert moved(detail_before, calls()) == {}
    buckets = value("contactship_request_duration_seconds_count", endpoint="list")
    assert buckets >= server.requests_seen


# --- the breaker -----------------------------------------------------------------------------


def test_an_open_breaker_shows_and_counts_its_refusals(member_client, faulty, settings):
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 2
    settings.CONTACTSHIP_BREAKER_COOLDOWN = 60
    server = faulty(Faults(status=500))
    url = reverse("contact_list", args=[ORG])
    refused = value("contactship_refusals_total", organisation=ORG, reason="breaker_open")
    for page in range(2):
        member_client.get(url, {"page": page + 1, "refresh": 1})
    assert value("contactship_breaker_open", organisation=ORG) == 1
    made = server.requests_seen
    member_client.get(url, {"refresh": 1})
    assert server.requests_seen == made, "an open circuit makes no call"
    after = value("contactship_refusals_total", organisation=ORG, reason="breaker_open")
    assert after == refused + 1

    server = faulty(Faults())
    from django.core.cache import cache

    cache.clear()  # the cool-down over: the next call closes it
    member_client.get(url)
    assert value("contactship_breaker_open", organisation=ORG) == 0


# --- exports, summaries, sign-ins -------------------------------------------------------------


def test_an_export_counts_its_rows_as_the_file_has_them(member_client, upstream):
    completed = value("dashboard_exports_total", format="csv", outcome="completed")
    rows = value("dashboard_export_rows_total", format="csv")
    response = member_client.get(reverse("contact_export", args=[ORG, "csv"]))
    file_rows = csv_rows(body_of(response))[1:]  # less the header
    assert len(file_rows) == 137
    assert value("dashboard_export_rows_total", format="csv") - rows == len(file_rows)
    assert value("dashboard_exports_total", format="csv", outcome="completed") == completed + 1


def test_a_failed_export_counts_as_failed(member_client, faulty):
    faulty(Faults(status=500))
    failed = value("dashboard_exports_total", format="csv", outcome="failed")
    member_client.get(reverse("contact_export", args=[ORG, "csv"]))
    assert value("dashboard_exports_total", format="csv", outcome="failed") == failed + 1


def test_a_summary_counts_completed_then_cached(member_client, upstream):
    completed = value("dashboard_summaries_total", outcome="completed")
    cached = value("dashboard_summaries_total", outcome="cached")
    url = reverse("contact_summary_json", args=[ORG])
    body_of(member_client.get(url))
    assert value("dashboard_summaries_total", outcome="completed") == completed + 1
    body_of(member_client.get(url))
    assert value("dashboard_summaries_total", outcome="cached") == cached + 1
    assert value("dashboard_summaries_total", outcome="completed") == completed + 1


def test_sign_ins_by_password(client, member):
    member.set_password("right-password-1")
    member.save()
    success = value("dashboard_sign_ins_total", method="password", outcome="success")
    failure = value("dashboard_sign_ins_total", method="password", outcome="failure")
    login = reverse("login")
    client.post(login, {"username": member.username, "password": "wrong"})
    assert value("dashboard_sign_ins_total", method="password", outcome="failure") == failure + 1
    client.post(login, {"username": member.username, "password": "right-password-1"})
    assert value("dashboard_sign_ins_total", method="password", outcome="success") == success + 1


# --- gunicorn's hooks: the multiprocess directory --------------------------------------------


class _Server:
    class log:  # stands in for gunicorn's logger
        @staticmethod
        def info(*args) -> None:
            pass


@pytest.fixture
def no_metrics_dir():
    saved = os.environ.pop(gunicorn_conf.METRICS_DIR, None)
    yield
    os.environ.pop(gunicorn_conf.METRICS_DIR, None)
    if saved is not None:
        os.environ[gunicorn_conf.METRICS_DIR] = saved


def test_without_a_directory_the_server_makes_a_fresh_one_and_removes_it(no_metrics_dir):
    gunicorn_conf.on_starting(_Server())
    made = Path(os.environ[gunicorn_conf.METRICS_DIR])
    assert made.is_dir() and not any(made.iterdir())
    gunicorn_conf.on_exit(_Server())
    assert not made.exists()


def test_a_given_directory_is_emptied_of_an_earlier_runs_files(no_metrics_dir, tmp_path):
    os.environ[gunicorn_conf.METRICS_DIR] = str(tmp_path)
    (tmp_path / "counter_99.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    gunicorn_conf.on_starting(_Server())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    gunicorn_conf.on_exit(_Server())
    assert tmp_path.is_dir(), "a directory the operator chose stays"


def test_a_dead_workers_live_gauges_are_dropped(no_metrics_dir, tmp_path):
    os.environ[gunicorn_conf.METRICS_DIR] = str(tmp_path)
    live = tmp_path / "gauge_livesum_4242.db"
    kept = tmp_path / "counter_4242.db"
    live.write_bytes(b"")
    kept.write_bytes(b"")

    class Worker:
        pid = 4242

    gunicorn_conf.child_exit(_Server(), Worker())
    assert not live.exists()
    assert kept.exists(), "a dead worker's counts still count"


def test_under_https_a_plain_http_scrape_is_not_redirected(client, settings, monkeypatch):
    """Prometheus scrapes a replica's own address in plain HTTP, as the proxy talks to it."""
    production = settings_module_under(monkeypatch, DASHBOARD_HTTPS="1")
    settings.SECURE_SSL_REDIRECT = production.SECURE_SSL_REDIRECT
    settings.SECURE_REDIRECT_EXEMPT = production.SECURE_REDIRECT_EXEMPT
    settings.DASHBOARD_METRICS_TOKEN = TOKEN
    assert client.get("/accounts/login/").status_code == 301
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scrape.status_code == 200
    assert client.get("/metrics").status_code == 404


@pytest.mark.usefixtures("intranet_sign_in")
def test_a_header_sign_in_counts_as_header(client, upstream):
    header = value("dashboard_sign_ins_total", method="header", outcome="success")
    password = value("dashboard_sign_ins_total", method="password", outcome="success")
    assert client.get("/", HTTP_X_FORWARDED_USER="maria.lopez").status_code == 200
    assert value("dashboard_sign_ins_total", method="header", outcome="success") == header + 1
    assert value("dashboard_sign_ins_total", method="password", outcome="success") == password


def test_a_bulk_lookup_on_the_page_counts_completed(member_client, upstream):
    completed = value("dashboard_lookups_total", outcome="completed")
    email = contacts_for("org-tejo")[0]["email"]
    response = member_client.post(
        reverse("contact_lookup", args=["org-tejo"]), {"identifiers": f"{email}\nnobody@x.example"}
    )
    assert response.status_code == 200
    assert value("dashboard_lookups_total", outcome="completed") == completed + 1


def test_a_running_export_adds_its_calls_in_flight_then_takes_them_back(member_client, upstream):
    gauge = "contactship_scan_concurrency"
    before = value(gauge, organisation="org-tejo")
    response = member_client.get(reverse("contact_export", args=["org-tejo", "csv"]))
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)  # the rows after the first page: the scan has asked for more pages
    assert value(gauge, organisation="org-tejo") > before
    response.close()
    assert value(gauge, organisation="org-tejo") == before
