"""The search pages' details, through Django's test client against the demo API: the keyboards the
fields bring, words and plurals, the organisation chooser and switch, the blocked-cookie page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from contacts.demo.data import contacts_for, matches
from tests.support import make_user

pytestmark = pytest.mark.django_db


def list_url(org_id="org-tejo", query=""):
    return reverse("contact_list", args=[org_id]) + (f"?{query}" if query else "")


def input_tag(body: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)


def test_each_field_brings_its_keyboard_and_the_same_clear_button(member_client, upstream):
    body = member_client.get(list_url()).content.decode()
    for name in ("full_name", "email", "phone_number"):
        assert 'type="search"' in input_tag(body, name), name
    assert 'inputmode="email"' in input_tag(body, "email")
    assert 'inputmode="tel"' in input_tag(body, "phone_number")


def test_one_contact_is_not_contacts_1_to_1(member_client, upstream):
    contact = contacts_for("org-tejo")[0]
    response = member_client.get(list_url(query=f"email={contact['email']}"))
    body = response.content.decode()
    assert len(matches("org-tejo", email=contact["email"])) == 1
    assert "Contact 1" in body and "Contacts 1–1" not in body


def test_the_empty_state_hints_at_accents(member_client, upstream):
    body = member_client.get(list_url(query="full_name=Joao+zzzz")).content.decode()
    assert "Accents count" in body


def test_phone_numbers_in_the_table_read_internationally(member_client, upstream):
    contact = next(c for c in contacts_for("org-tejo") if c["phone_number"].startswith("+55"))
    body = member_client.get(list_url(query=f"email={contact['email']}")).content.decode()
    number = contact["phone_number"]
    assert f'<a href="tel:{number}">+55 {number[3:5]} ' in body


def test_the_chooser_names_each_organisation_and_the_export_right(
    client, upstream, django_user_model
):
    user = make_user(django_user_model, "two", {"org-harbor": False, "org-tejo": True})
    client.force_login(user)
    body = client.get("/").content.decode()
    harbor = re.search(r"Harbor &amp; Co</strong>\s*<span[^>]*>([^<]*)<", body).group(1)
    tejo = re.search(r"Tejo Comercial</strong>\s*<span[^>]*>([^<]*)<", body).group(1)
    assert harbor == "Search only, no downloads"
    assert tejo == "Search and download"


def test_every_organisation_page_can_switch_to_the_others_even_framed(
    client, upstream, django_user_model
):
    user = make_user(django_user_model, "two", {"org-harbor": False, "org-tejo": True})
    client.force_login(user)
    for headers in ({}, {"HTTP_SEC_FETCH_DEST": "iframe"}):
        body = client.get(list_url("org-tejo"), **headers).content.decode()
        switch = re.search(r'<details class="org-switch">.*?</details>', body, re.S).group(0)
        assert 'href="/orgs/org-harbor/contacts/"' in switch
        assert "/orgs/org-tejo/contacts/" not in switch
    # With one organisation there is nothing to switch to.
    client.force_login(make_user(django_user_model, "one", {"org-tejo": True}))
    assert b"org-switch" not in client.get(list_url("org-tejo")).content


def test_a_form_without_its_cookie_gets_a_page_that_explains(upstream, member, caplog):
    client = Client(enforce_csrf_checks=True)
    next_url = list_url("org-tejo")
    response = client.post(
        reverse("login") + f"?next={next_url}",
        {"username": "ana", "password": "x"},
        HTTP_SEC_FETCH_DEST="iframe",
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert "block it (third-party cookies)" in body
    assert "Traceback" not in body and "CSRF verification failed" not in body
    new_tab = re.search(r'<a class="button primary" href="([^"]*)" target="_blank"', body)
    assert new_tab.group(1) == "/accounts/login/?next=%2Forgs%2Forg-tejo%2Fcontacts%2F&amp;embed=0"
    assert [r.getMessage() for r in caplog.records if r.name == "django.security.csrf"] == [
        "Forbidden (CSRF cookie not set.): /accounts/login/"
    ]
