"""The pages, through Django's test client, against the demo API over loopback."""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from contacts.demo.data import contacts_for, matches
from tests.support import body_of, csv_rows, make_user

pytestmark = pytest.mark.django_db


def list_url(org_id="org-tejo", **params):
    url = reverse("contact_list", args=[org_id])
    return f"{url}?{urlencode(params)}" if params else url


def row_ids(response) -> list[str]:
    # The name's link of each row (a row's "+2 more" links to the same contact).
    name_link = r'<td class="col-full_name"[^>]*><a href="/orgs/[^/]+/contacts/([0-9a-f-]{36})/'
    return re.findall(name_link, response.content.decode())


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args",
    [
        ("contact_list", ["org-tejo"]),
        ("contact_export", ["org-tejo", "csv"]),
        ("contact_detail", ["org-tejo", "00000000-0000-4000-8000-000000000000"]),
        ("home", []),
    ],
)
def test_anonymous_users_go_to_the_login_page(client, upstream, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_non_member_is_refused_on_every_org_url(client, upstream, django_user_model):
    outsider = make_user(django_user_model, "outsider", {"org-harbor": True})
    client.force_login(outsider)
    for url in (
        list_url("org-tejo"),
        reverse("contact_export", args=["org-tejo", "csv"]),
        reverse("contact_detail", args=["org-tejo", contacts_for("org-tejo")[0]["id"]]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"ask an administrator" in response.content


def test_unknown_organisation_is_404(member_client, upstream):
    assert member_client.get(list_url("org-nowhere")).status_code == 404


def test_member_without_export_right_sees_no_button_and_gets_403(
    client, upstream, django_user_model
):
    viewer = make_user(django_user_model, "viewer", {"org-harbor": False})
    client.force_login(viewer)
    page = client.get(list_url("org-harbor"))
    assert page.status_code == 200
    assert b"export.csv" not in page.content
    assert client.get(reverse("contact_export", args=["org-harbor", "csv"])).status_code == 403


def test_home_redirects_a_single_membership_and_lists_several(client, upstream, django_user_model):
    single = make_user(django_user_model, "single", {"org-harbor": False})
    client.force_login(single)
    assert client.get("/").url == list_url("org-harbor")

    several = make_user(django_user_model, "several", {"org-harbor": False, "org-tejo": True})
    client.force_login(several)
    page = client.get("/")
    assert page.status_code == 200
    assert b"Harbor &amp; Co" in page.content and b"Tejo Comercial" in page.content
    assert b"Andes" not in page.content


def test_home_without_membership_says_what_to_do(client, upstream, django_user_model):
    client.force_login(make_user(django_user_model, "nobody"))
    page = client.get("/")
    assert page.status_code == 200
    assert b"Ask an administrator" in page.content


def test_superuser_sees_every_configured_organisation(client, upstream, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)
    page = client.get("/")
    for org in upstream.organisations.values():
        assert org["name"].replace("&", "&amp;").encode() in page.content
    assert client.get(list_url("org-andes", full_name="ana")).status_code == 200


def test_login_form_logs_in_and_lands_on_the_organisation(client, upstream, member):
    response = client.post(
        reverse("login"), {"username": "ana", "password": "a-Long-test-passw0rd"}
    )
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200


# --- search -------------------------------------------------------------------------------------


def test_search_page_shows_the_first_page_of_matches(member_client, upstream):
    expected = matches("org-tejo", full_name="ana")
    assert len(expected) > 100, "the demo data should make this search page"
    response = member_client.get(list_url(full_name="ana"))
    assert response.status_code == 200
    assert row_ids(response) == [c["id"] for c in expected[:100]]
    body = response.content.decode()
    assert "Contacts 1–100" in body
    assert 'rel="next" href="?full_name=ana&amp;page=2"' in body
    assert 'rel="prev"' not in body


def test_paging_forward_and_back(member_client, upstream):
    expected = [c["id"] for c in matches("org-tejo", full_name="ana")]
    second = member_client.get(list_url(full_name="ana", page=2))
    assert row_ids(second) == expected[100:200]
    assert 'rel="prev" href="?full_name=ana"' in second.content.decode()
    last_page = (len(expected) - 1) // 100 + 1
    last = member_client.get(list_url(full_name="ana", page=last_page))
    assert row_ids(last) == expected[(last_page - 1) * 100 :]
    assert 'rel="next"' not in last.content.decode()


def test_page_past_the_end_says_the_results_ended(member_client, upstream):
    response = member_client.get(list_url("org-harbor", page=50))
    assert response.status_code == 200
    assert b"No more contacts" in response.content
    assert row_ids(response) == []


def test_filters_combine_and_survive_in_the_url(member_client, upstream):
    target = contacts_for("org-tejo")[7]
    phone_prefix = target["phone_number"][:6]
    expected = matches("org-tejo", email="a", phone_number=phone_prefix)
    response = member_client.get(list_url(email="a", phone_number=phone_prefix))
    assert row_ids(response) == [c["id"] for c in expected[:100]]
    body = response.content.decode()
    assert f'value="{phone_prefix}"' in body


def test_phone_filter_accepts_spaces_and_dashes(member_client, upstream):
    number = contacts_for("org-tejo")[3]["phone_number"]
    typed = f"{number[:3]} {number[3:6]}-{number[6:]}"
    response = member_client.get(list_url(phone_number=typed))
    assert contacts_for("org-tejo")[3]["id"] in row_ids(response)


def test_malformed_filter_is_a_400_next_to_the_field_without_calling_upstream(
    member_client, upstream, caplog
):
    response = member_client.get(list_url(phone_number="call me"))
    assert response.status_code == 400
    assert b"Use digits only" in response.content
    assert "upstream org=" not in caplog.text
    too_long = member_client.get(list_url(full_name="x" * 201))
    assert too_long.status_code == 400
    assert b"at most 200 characters" in too_long.content


def test_empty_result_says_so(member_client, upstream):
    response = member_client.get(list_url(full_name="zzzz-nobody"))
    assert response.status_code == 200
    assert b"No contacts match these filters." in response.content


def test_unparseable_page_number_falls_back_to_the_first_page(member_client, upstream):
    response = member_client.get(list_url("org-harbor", page="abc"))
    assert response.status_code == 200
    assert row_ids(response) == [c["id"] for c in contacts_for("org-harbor")[:100]]


def test_accented_and_non_latin_names_are_rendered_intact(member_client, upstream):
    names = [c["full_name"] for c in contacts_for("org-harbor") if c.get("full_name")]
    non_latin = next(n for n in names if any(ord(ch) > 0x370 for ch in n))
    response = member_client.get(list_url("org-harbor", full_name=non_latin))
    assert non_latin in response.content.decode()


def test_links_to_a_contact_keep_the_search_for_the_way_back(member_client, upstream):
    response = member_client.get(list_url(full_name="ana", page=2))
    first_id = row_ids(response)[0]
    assert f"/contacts/{first_id}/?full_name=ana&amp;page=2" in response.content.decode()
    detail = member_client.get(
        reverse("contact_detail", args=["org-tejo", first_id]) + "?full_name=ana&page=2"
    )
    assert 'href="/orgs/org-tejo/contacts/?full_name=ana&amp;page=2"' in detail.content.decode()


# --- one contact --------------------------------------------------------------------------------


def test_contact_page_shows_every_field_and_typed_additional_data(member_client, upstream):
    contact = next(
        c
        for c in contacts_for("org-tejo")
        if {"location", "url"} <= {d["type"] for d in c.get("additional_data") or []}
    )
    response = member_client.get(reverse("contact_detail", args=["org-tejo", contact["id"]]))
    assert response.status_code == 200
    body = response.content.decode()
    for key in ("full_name", "phone_number", "id"):
        assert contact[key] in body
    location = next(d for d in contact["additional_data"] if d["type"] == "location")
    url = next(d for d in contact["additional_data"] if d["type"] == "url")
    assert "<address>" in body
    assert str(location["value"]).split("\n")[0] in body
    assert f'<a href="{url["value"]}" rel="noopener noreferrer"' in body


def test_unknown_contact_is_a_404_that_says_so(member_client, upstream):
    response = member_client.get(
        reverse("contact_detail", args=["org-tejo", "00000000-0000-4000-8000-000000000000"])
    )
    assert response.status_code == 404
    assert b"This contact does not exist" in response.content


# --- CSV export ---------------------------------------------------------------------------------


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    raw = body_of(response)
    return raw, csv_rows(raw)


def test_export_holds_every_match_across_pages(member_client, upstream):
    expected = matches("org-tejo", full_name="ana")
    response = member_client.get(
        reverse("contact_export", args=["org-tejo", "csv"]) + "?full_name=ana"
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="contacts-tejo-comercial-name-ana-\d{4}-\d{2}-\d{2}-\d{4}\.csv"',
        response["Content-Disposition"],
    )
    raw, rows = read_csv(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    header, body = rows[0], rows[1:]
    assert header[:8] == [
        "id",
        "created_at",
        "full_name",
        "email",
        "phone_number",
        "country",
        "description",
        "organization_id",
    ]
    assert header[-1] == "other_additional_data"
    assert [r[0] for r in body] == [c["id"] for c in expected]


def test_export_of_a_whole_organisation(member_client, upstream):
    response = member_client.get(reverse("contact_export", args=["org-tejo", "csv"]))
    _, rows = read_csv(response)
    assert len(rows) - 1 == len(contacts_for("org-tejo"))
    assert len({r[0] for r in rows[1:]}) == len(contacts_for("org-tejo"))


def test_export_of_nothing_is_a_header_only_file(member_client, upstream):
    response = member_client.get(
        reverse("contact_export", args=["org-tejo", "csv"]) + "?full_name=zzzz-nobody"
    )
    _, rows = read_csv(response)
    assert len(rows) == 1 and rows[0][0] == "id"


def test_export_with_a_malformed_filter_is_refused_before_starting(member_client, upstream):
    response = member_client.get(
        reverse("contact_export", args=["org-tejo", "csv"]) + "?phone_number=abc"
    )
    assert response.status_code == 400
    assert b"Use digits only" in response.content


def test_export_button_keeps_the_filters(member_client, upstream):
    # 296 matches: page 2 has rows, and the download is of the whole search, not the page.
    response = member_client.get(list_url(full_name="a", email="gmail", page=2))
    assert 'href="/orgs/org-tejo/contacts/export.csv?full_name=a&amp;email=gmail"' in (
        response.content.decode()
    )
