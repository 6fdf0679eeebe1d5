"""The error types: Contactship's failures and the dashboard's own refusals on separate branches,
each shown as a page for a person with its cause chained for the operator."""

import logging

import pytest
import requests
from django.urls import reverse

from contacts.contact.query import ContactQuery
from contacts.demo.faults import Faults
from contacts.upstream.client import contactship_client
from contacts.upstream.errors import (
    CallsBusy,
    CircuitOpen,
    DashboardError,
    DashboardRefusal,
    ExportsBusy,
    ExportTooLarge,
    PagingIgnored,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from contacts.upstream.organisations import organisation_get

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("refusal", [CallsBusy, CircuitOpen, ExportTooLarge, ExportsBusy])
def test_the_dashboards_refusals_do_not_pose_as_upstream_failures(refusal):
    assert issubclass(refusal, DashboardRefusal)
    assert issubclass(refusal, DashboardError)
    assert not issubclass(refusal, UpstreamError)
    assert str(refusal.title) != str(UpstreamError.title) or refusal is CircuitOpen


def test_paging_ignored_is_an_unexpected_answer():
    assert issubclass(PagingIgnored, UpstreamBadResponse)


def test_a_refused_connection_keeps_its_cause(settings):
    settings.CONTACTSHIP_API_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    settings.CONTACTSHIP_RETRIES = 0
    settings.CONTACTSHIP_ORGANISATIONS = {"org-x": {"name": "X", "api_key": "k-test"}}
    with pytest.raises(UpstreamUnavailable) as raised:
        contactship_client().contact_list(
            organisation=organisation_get("org-x"), query=ContactQuery(), use_cache=False
        )
    assert isinstance(raised.value.__cause__, requests.ConnectionError)


def test_a_body_that_is_not_json_keeps_its_cause(faulty):
    faulty(Faults(non_json=True))
    with pytest.raises(UpstreamBadResponse) as raised:
        contactship_client().contact_list(
            organisation=organisation_get("org-harbor"), query=ContactQuery(), use_cache=False
        )
    assert isinstance(raised.value.__cause__, ValueError)


def test_an_open_breaker_is_shown_and_logged_as_the_dashboards_refusal(
    member_client, faulty, settings, caplog
):
    faulty(Faults(status=503))
    settings.CONTACTSHIP_RETRIES = 0
    settings.CONTACTSHIP_BREAKER_THRESHOLD = 1
    url = reverse("contact_list", args=["org-harbor"])
    with caplog.at_level(logging.WARNING):
        assert member_client.get(url).status_code == 503  # Contactship failed: opens the breaker
        response = member_client.get(url)
    assert response.status_code == 503
    assert b"giving it a short rest" in response.content
    lines = [r.getMessage() for r in caplog.records if " shown org=" in r.getMessage()]
    assert lines[0].startswith("upstream error shown org=org-harbor")
    assert "error=UpstreamUnavailable" in lines[0]
    assert lines[1].startswith("refusal shown org=org-harbor")
    assert "error=CircuitOpen" in lines[1]
