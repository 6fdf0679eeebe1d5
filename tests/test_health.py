"""Probes for load balancers: /healthz and /readyz."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_host_check_or_https_redirect(client, settings):
    settings.ALLOWED_HOSTS = ["contacts.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_checks_database_cache_and_upstream(client, upstream):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "upstream": "ok",
    }


def test_readyz_names_what_failed(client, settings, caplog):
    settings.CONTACTSHIP_API_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["upstream"] == "failed"
    assert response.json()["database"] == "ok"
    assert "readiness: upstream failed" in caplog.text
