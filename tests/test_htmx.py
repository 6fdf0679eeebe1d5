"""The search page's results region for htmx (the filters typed), through Django's test client."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def list_url(query: str = "") -> str:
    return reverse("contact_list", args=["org-tejo"]) + (f"?{query}" if query else "")


def test_htmx_gets_the_results_region_alone_and_the_address_to_show(member_client, upstream):
    response = member_client.get(list_url("full_name=ana&email=&phone_number="), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<form" not in body
    assert "Contacts 1–100" in body and 'rel="next"' in body
    # The address bar shows the search without its empty fields.
    assert response["HX-Push-Url"] == list_url("full_name=ana")
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]
    # The fields' errors travel along (empty here), to replace the ones under the fields: one
    # per field, three of the API's and five of the dashboard's (country, dates, email domain,
    # data quality).
    assert body.count('hx-swap-oob="true"') == 8


def test_a_page_load_gets_the_whole_page_which_varies_on_htmx(member_client, upstream):
    response = member_client.get(list_url("full_name=ana"))
    body = response.content.decode()
    assert "<html" in body and 'role="search"' in body and 'id="results"' in body
    assert "HX-Request" in response["Vary"]
    assert "HX-Push-Url" not in response
    assert "hx-swap-oob" not in body


def test_a_history_restore_gets_the_whole_page(member_client, upstream):
    response = member_client.get(
        list_url("full_name=ana"), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_an_invalid_field_comes_back_next_to_the_field(member_client, upstream):
    response = member_client.get(list_url("phone_number=call+me"), **HTMX)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_phone_number_error" hx-swap-oob="true"><p class="field-error">Use digits' in body
    assert response["HX-Push-Url"] == list_url("phone_number=call+me")


def test_refresh_is_not_kept_in_the_address(member_client, upstream):
    response = member_client.get(list_url("full_name=ana&page=2&refresh=1"), **HTMX)
    assert response["HX-Push-Url"] == list_url("full_name=ana&page=2")


def test_the_page_loads_htmx_and_its_own_script_from_the_dashboard(member_client, upstream):
    body = member_client.get(list_url()).content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in body
    assert '<script src="/static/js/dashboard.js" defer></script>' in body
    # htmx would otherwise add an inline <style>, which the CSP refuses.
    assert '"includeIndicatorStyles": false' in body
