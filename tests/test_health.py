"""Probes for load balancers: /healthz and /readyz."""

import pytest

from contacts import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_host_check_or_https_redirect(client, settings):
    settings.ALLOWED_HOSTS = ["contacts.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.fixture(autouse=True)
def _fresh_probe(monkeypatch):
    # Each test starts with no remembered upstream answer and a process that is not draining.
    monkeypatch.setattr(health, "_upstream_answer", None)
    health.DRAINING.clear()
    yield
    health.DRAINING.clear()


def test_readyz_checks_database_cache_and_upstream(client, upstream):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "upstream": "ok",
    }


def test_an_upstream_outage_is_reported_but_leaves_the_replica_ready(client, settings, caplog):
    # The same API serves every replica: failing readiness on it would take them all out of the
    # balancer and replace the dashboard's own "not answering" page with the proxy's.
    settings.CONTACTSHIP_API_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "upstream": "failed",
    }
    assert "readiness: upstream failed" in caplog.text


def test_a_failing_cache_makes_the_replica_unready(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(health.cache, "set", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["cache"] == "failed"
    assert response.json()["database"] == "ok"
    assert "readiness: cache failed" in caplog.text


def test_readyz_asks_the_upstream_at_most_once_in_a_few_seconds(client, upstream, monkeypatch):
    calls = []
    real = health._upstream
    monkeypatch.setattr(health, "_upstream", lambda: calls.append(1) or real())
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    assert len(calls) == 1
    # Once the answer is older than its time to live, the next probe asks again.
    when, answer = health._upstream_answer
    monkeypatch.setattr(health, "_upstream_answer", (when - health.UPSTREAM_TTL, answer))
    client.get("/readyz")
    assert len(calls) == 2


def test_a_draining_process_is_unready_at_once_and_still_alive(client, upstream, monkeypatch):
    def must_not_run():
        raise AssertionError("a draining process checks nothing")

    monkeypatch.setattr(health, "CHECKS", {"database": must_not_run})
    health.DRAINING.set()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}
    assert client.get("/healthz").status_code == 200
