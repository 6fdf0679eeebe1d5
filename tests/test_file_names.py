"""Download file names say what is in them: the organisation, the search's values (slugged,
short) and the date and time; ASCII only and bounded in length."""

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils.http import content_disposition_header

from contacts.exports.download import MAX_FILENAME, download_filename
from contacts.exports.formats import FORMATS
from tests.support import body_of

pytestmark = pytest.mark.django_db

FIXED = datetime(2026, 12, 6, 14, 32, 5, tzinfo=UTC)


@pytest.fixture
def at_fixed_time(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: FIXED)


def export_name(client, fmt="csv", **params) -> str:
    url = reverse("contact_export", args=["org-tejo", fmt])
    response = client.get(f"{url}?{urlencode(params)}" if params else url)
    assert response.status_code == 200
    body_of(response)  # read to the end: the download gives its place back
    match = re.fullmatch(r'attachment; filename="([^"]+)"', response["Content-Disposition"])
    assert match, response["Content-Disposition"]
    return match.group(1)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, "contacts-tejo-comercial-2026-12-06-1432.csv"),
        (
            {"country": "España", "created_from": "2024-01-01"},
            "contacts-tejo-comercial-country-espana-since-2024-01-01-2026-12-06-1432.csv",
        ),
        (
            {"full_name": "ana", "email_domain": "tejo.es"},
            "contacts-tejo-comercial-name-ana-domain-tejo-es-2026-12-06-1432.csv",
        ),
        (
            {"phone_number": "+34", "created_to": "2025-06-30"},
            "contacts-tejo-comercial-phone-34-until-2025-06-30-2026-12-06-1432.csv",
        ),
    ],
)
def test_an_export_is_named_by_its_search(member_client, upstream, at_fixed_time, params, expected):
    assert export_name(member_client, **params) == expected


def test_two_searches_of_one_day_have_two_names(member_client, upstream, at_fixed_time):
    names = {
        export_name(member_client, full_name="ana"),
        export_name(member_client, full_name="ana", country="México"),
        export_name(member_client, fmt="xlsx", full_name="ana"),
    }
    assert len(names) == 3


def test_a_long_search_is_cut_to_a_bounded_ascii_name(member_client, upstream, at_fixed_time):
    name = export_name(
        member_client,
        full_name="Ana María de los Ángeles Fernández García-Villalobos",
        email="ana.maria.de.los.angeles@example.com",
        country="Brasil",
        email_domain="example.com",
        created_from="2020-01-01",
        created_to="2026-12-31",
    )
    assert len(name) <= MAX_FILENAME
    assert name.isascii()
    assert re.fullmatch(
        r"contacts-tejo-comercial-name-ana-maria[a-z0-9-]*[a-z0-9]-2026-12-06-1432\.csv", name
    )
    assert "--" not in name


def test_values_without_latin_letters_leave_their_parameter_out(at_fixed_time):
    name = download_filename(
        "contacts",
        "Организация",
        FORMATS["xlsx"],
        fallback="export",
        search={"full_name": "Иван", "country": "Россия", "email_domain": "почта.рф"},
    )
    assert name == "contacts-export-2026-12-06-1432.xlsx"
    # The header Django writes carries it unchanged.
    assert content_disposition_header(True, name) == f'attachment; filename="{name}"'


def test_a_lookup_keeps_its_own_prefix(member_client, upstream, at_fixed_time):
    response = member_client.post(
        reverse("contact_lookup_file", args=["org-tejo", "csv"]), {"identifiers": "ana@example.com"}
    )
    assert response.status_code == 200
    body_of(response)
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="lookup-tejo-comercial-2026-12-06-1432.csv"'
    )
