"""Saved views: saving, opening, changing and deleting one; who sees which; the search, the
summary and the downloads of a view."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from contacts import saved
from contacts.models import AuditEvent, Membership, SavedView
from tests.support import body_of, csv_rows, make_user, xlsx_rows

pytestmark = pytest.mark.django_db

ORG = "org-tejo"
SEARCH = "full_name=ro&columns=email%2Cfull_name%2Ccountry"


def slug_of(name: str) -> str:
    return SavedView.objects.get(name=name).slug


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(django_user_model):
    """ana and bea share org-tejo (ana may export); carl is in org-harbor only; olga is staff."""
    ana = make_user(django_user_model, "ana", {ORG: True})
    bea = make_user(django_user_model, "bea", {ORG: False})
    carl = make_user(django_user_model, "carl", {"org-harbor": True})
    olga = make_user(django_user_model, "olga", {ORG: True})
    olga.is_staff = True
    olga.save()
    return {
        name: (user, client_of(user))
        for name, user in locals().items()
        if name != "django_user_model"
    }


def save(client, name: str, query: str = SEARCH, shared: bool = False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("saved_views", args=[ORG]), data)


def listed(client) -> list[dict]:
    response = client.get(reverse("saved_views_json", args=[ORG]))
    assert response.status_code == 200
    return response.json()


def test_the_urls_are_the_contracts():
    assert reverse("saved_views", args=[ORG]) == f"/orgs/{ORG}/views/"
    assert reverse("saved_views_json", args=[ORG]) == f"/orgs/{ORG}/views.json"
    assert reverse("saved_view", args=[ORG, "vip"]) == f"/orgs/{ORG}/views/vip/"
    assert reverse("saved_view_delete", args=[ORG, "vip"]) == f"/orgs/{ORG}/views/vip/delete/"


def test_saving_keeps_the_search_validated_and_opens_it(upstream, people):
    _, ana = people["ana"]
    response = save(ana, "Rosas", SEARCH + "&bogus=1&page=3")
    rosas = slug_of("Rosas")
    assert response.status_code == 303
    assert response["Location"] == f"/orgs/{ORG}/views/{rosas}/"
    view = SavedView.objects.get(name="Rosas")
    assert view.query == SEARCH  # unknown parameters and the page dropped
    assert re.fullmatch(r"[a-z0-9]{10}", view.slug) and not view.shared  # not made of the name
    opening = ana.get(response["Location"])
    assert opening.status_code == 302
    opened = urlsplit(opening["Location"])
    assert opened.path == reverse("contact_list", args=[ORG])
    assert parse_qs(opened.query) == {
        "full_name": ["ro"],
        "columns": ["email,full_name,country"],
        "view": [view.slug],
    }
    assert listed(ana) == [
        {
            "name": "Rosas",
            "slug": rosas,
            "shared": False,
            "owner": "ana",
            "query": SEARCH,
            "url": f"/orgs/{ORG}/views/{rosas}/",
        }
    ]


def test_opening_a_view_shows_its_search_marked(upstream, people):
    _, ana = people["ana"]
    save(ana, "Rosas")
    rosas = slug_of("Rosas")
    response = ana.get(reverse("saved_view", args=[ORG, rosas]))
    assert response.status_code == 302
    page = ana.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    slug = rosas
    assert f'href="/orgs/org-tejo/views/{slug}/" aria-current="page"' in html
    assert f'<input type="hidden" name="view" value="{slug}">' in html
    assert "differs from the view" not in html
    # The summary and the downloads carry the view along.
    assert f"view={slug}" in page.context["search"].summary_url


def test_a_changed_search_differs_and_its_owner_can_update_the_view(upstream, people):
    _, ana = people["ana"]
    save(ana, "Rosas")
    rosas = slug_of("Rosas")
    changed = ana.get(reverse("contact_list", args=[ORG]) + f"?full_name=rob&view={rosas}")
    html = changed.content.decode()
    assert "This search differs from the view “Rosas”." in html
    assert "Update view" in html
    response = ana.post(reverse("saved_view", args=[ORG, rosas]), {"query": "full_name=rob"})
    assert response.status_code == 303
    assert SavedView.objects.get(name="Rosas").query == "full_name=rob"


def test_a_private_view_is_nobody_elses(upstream, people):
    _, ana = people["ana"]
    _, bea = people["bea"]
    save(ana, "Mine")
    mine = slug_of("Mine")
    assert listed(bea) == []
    assert b"Mine" not in bea.get(reverse("saved_views", args=[ORG])).content
    assert b"Mine" not in bea.get(reverse("contact_list", args=[ORG])).content
    view_url = reverse("saved_view", args=[ORG, mine])
    assert bea.get(view_url).status_code == 404
    assert bea.post(view_url, {"name": "Taken"}).status_code == 404
    assert bea.post(reverse("saved_view_delete", args=[ORG, mine])).status_code == 404
    for name in ("contact_list", "contact_summary", "contact_summary_json"):
        assert bea.get(reverse(name, args=[ORG]) + f"?view={mine}").status_code == 404, name
    _, olga = people["olga"]  # staff may export, but not use another person's private view
    export = olga.get(reverse("contact_export", args=[ORG, "csv"]) + f"?view={mine}")
    assert export.status_code == 404
    assert SavedView.objects.filter(name="Mine").exists()


def test_a_shared_view_is_everyones_in_the_organisation_but_theirs_to_change(upstream, people):
    _, ana = people["ana"]
    _, bea = people["bea"]
    save(ana, "Equipo", shared=True)
    equipo = slug_of("Equipo")
    assert [v["name"] for v in listed(bea)] == ["Equipo"]
    assert bea.get(reverse("saved_view", args=[ORG, equipo])).status_code == 302
    assert bea.post(reverse("saved_view", args=[ORG, equipo]), {"name": "X"}).status_code == 403
    assert bea.post(reverse("saved_view_delete", args=[ORG, equipo])).status_code == 403
    # A view grants nothing: bea has no export right, view or not.
    assert (
        bea.get(reverse("contact_export", args=[ORG, "csv"]) + f"?view={equipo}").status_code == 403
    )
    _, olga = people["olga"]  # staff may rename and delete
    assert (
        olga.post(reverse("saved_view", args=[ORG, equipo]), {"name": "Todos"}).status_code == 303
    )
    assert SavedView.objects.get().name == "Todos"
    assert olga.post(reverse("saved_view_delete", args=[ORG, equipo])).status_code == 303
    assert not SavedView.objects.exists()


def test_another_organisations_member_gets_404_everywhere(upstream, people):
    _, ana = people["ana"]
    _, carl = people["carl"]
    save(ana, "Equipo", shared=True)
    equipo = slug_of("Equipo")
    for url in (
        reverse("saved_views", args=[ORG]),
        reverse("saved_views_json", args=[ORG]),
        reverse("saved_view", args=[ORG, equipo]),
    ):
        assert carl.get(url).status_code == 404, url
    assert carl.post(reverse("saved_view_delete", args=[ORG, equipo])).status_code == 404
    assert save(carl, "Intruso", shared=True).status_code == 404


def test_a_person_removed_from_the_organisation_loses_its_views(upstream, people):
    ana_user, ana = people["ana"]
    _, bea = people["bea"]
    save(bea, "Equipo", shared=True)
    equipo = slug_of("Equipo")
    assert [v["name"] for v in listed(ana)] == ["Equipo"]
    Membership.objects.filter(user=ana_user, organisation_id=ORG).delete()
    assert ana.get(reverse("saved_views_json", args=[ORG])).status_code == 404
    assert ana.get(reverse("saved_view", args=[ORG, equipo])).status_code == 404


def test_a_deleted_owners_shared_views_stay_ownerless_and_private_ones_go(upstream, people):
    ana_user, ana = people["ana"]
    _, bea = people["bea"]
    save(ana, "Equipo", shared=True)
    equipo = slug_of("Equipo")
    save(ana, "Mine")
    assert {v["name"] for v in listed(bea)} == {"Equipo"}  # cached list, before the deletion
    ana_user.delete()
    assert listed(bea) == [
        {
            "name": "Equipo",
            "slug": equipo,
            "shared": True,
            "owner": None,
            "query": SEARCH,
            "url": f"/orgs/{ORG}/views/{equipo}/",
        }
    ]
    assert not SavedView.objects.filter(name="Mine").exists()


def test_limits_and_names_give_a_message_not_a_500(upstream, people, monkeypatch):
    _, ana = people["ana"]
    _, bea = people["bea"]
    monkeypatch.setattr(saved, "MAX_PRIVATE", 2)
    monkeypatch.setattr(saved, "MAX_SHARED", 1)
    assert save(ana, "Uno").status_code == 303
    assert save(ana, "Dos").status_code == 303
    third = save(ana, "Tres")
    assert third.status_code == 400
    assert "the most you may have" in third.content.decode()
    assert save(bea, "Uno").status_code == 303  # names are per person for private views
    assert save(ana, "Equipo", shared=True).status_code == 303
    over = save(bea, "Otro", shared=True)
    assert over.status_code == 400 and "the most it may have" in over.content.decode()
    monkeypatch.setattr(saved, "MAX_SHARED", 10)
    taken = save(bea, "Equipo", shared=True)
    assert taken.status_code == 400
    assert "already has this name" in taken.content.decode()
    assert save(ana, "  ").status_code == 400


def test_an_invalid_search_is_refused_with_the_search_pages_words(upstream, people):
    _, ana = people["ana"]
    bad_phone = save(ana, "Phones", "phone_number=abc")
    assert bad_phone.status_code == 400
    assert "not valid" in bad_phone.content.decode()
    bad_column = save(ana, "Columns", "columns=email,nope")
    assert bad_column.status_code == 400
    assert "nope" in bad_column.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_views_columns_and_filters_reach_the_download_exactly(upstream, people, fmt):
    _, ana = people["ana"]
    save(ana, "Rosas", "full_name=ro&country=Brasil&columns=email%2Cfull_name")
    rosas = slug_of("Rosas")
    export = reverse("contact_export", args=[ORG, fmt])
    with_view = body_of(
        ana.get(f"{export}?full_name=ro&country=Brasil&columns=email%2Cfull_name&view={rosas}")
    )
    plain = body_of(ana.get(f"{export}?full_name=ro&country=Brasil&columns=email%2Cfull_name"))
    rows = csv_rows(with_view) if fmt == "csv" else xlsx_rows(with_view)
    assert rows == (csv_rows(plain) if fmt == "csv" else xlsx_rows(plain))
    assert len(rows[0]) == 2 and len(rows) > 1
    event = AuditEvent.objects.filter(kind=AuditEvent.Kind.EXPORT).order_by("at").first()
    assert event.filters == {"full_name": "ro", "country": "Brasil", "view": rosas}


def test_the_summary_of_a_view_is_the_summary_of_its_search(upstream, people):
    _, ana = people["ana"]
    save(ana, "Rosas", "full_name=ro")
    rosas = slug_of("Rosas")
    summary = reverse("contact_summary_json", args=[ORG])

    def count(url: str) -> int:
        response = ana.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return json.loads(body)["count"]

    assert count(f"{summary}?full_name=ro&view={rosas}") == count(f"{summary}?full_name=ro") > 0


def test_the_search_page_pays_no_query_for_the_views(
    upstream, people, django_assert_max_num_queries
):
    _, ana = people["ana"]
    save(ana, "Rosas", shared=True)
    page = reverse("contact_list", args=[ORG])
    ana.get(page)  # the list is cached
    with django_assert_max_num_queries(1):
        assert b"Rosas" in ana.get(page).content
