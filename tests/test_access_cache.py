"""A search page costs no database query once the member has been seen: the user, the rights and
the session come from the cache, and every change to a membership, a column choice or the user
counts at the next request."""

from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import ColumnChoice, Membership
from contacts.signed_in import USER_KEY
from tests.support import cache_contents

ORG = "org-harbor"


def search_url(query: str = "full_name=a") -> str:
    return reverse("contact_list", args=[ORG]) + f"?{query}"


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in captured.captured_queries]


def test_the_first_search_page_after_signing_in_costs_one_query_and_the_next_none(
    client, member, upstream
):
    client.force_login(member)
    first = queries_of(client, search_url())
    assert len(first) == 1 and "auth_user" in first[0]
    assert queries_of(client, search_url("email=example")) == []


def test_the_header_switcher_and_remembered_columns_cost_no_query(member_client, member, upstream):
    ColumnChoice.objects.create(user=member, organisation_id=ORG, columns="email,full_name")
    member_client.get(search_url())  # the change above emptied the cached rights
    with CaptureQueriesContext(connection) as captured:
        response = member_client.get(search_url())
    assert captured.captured_queries == []
    html = response.content.decode()
    assert 'name="columns" value="email,full_name"' in html
    assert "org-tejo" in html  # the other organisation, in the header's switcher


def test_a_removed_member_is_refused_at_the_next_request(member_client, member, upstream):
    assert member_client.get(search_url()).status_code == 200
    call_command("remove_member", member.username, ORG)
    assert member_client.get(search_url()).status_code == 403


def test_a_withdrawn_export_right_counts_at_the_next_request(member_client, member, upstream):
    export = reverse("contact_export", args=[ORG, "csv"]) + "?full_name=zzzz-nobody"
    response = member_client.get(export)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    membership = Membership.objects.get(user=member, organisation_id=ORG)
    membership.can_export = False
    membership.save()
    assert member_client.get(export).status_code == 403


def test_a_column_choice_made_with_the_picker_shows_on_the_next_page(member_client, upstream):
    member_client.get(search_url())
    response = member_client.post(
        reverse("contact_list", args=[ORG]), {"order": ["email", "country"], "shown": ["email"]}
    )
    assert response.status_code == 303
    html = member_client.get(reverse("contact_list", args=[ORG])).content.decode()
    assert 'name="columns" value="email"' in html


def test_the_cache_keeps_the_user_without_the_password_hash(member_client, member, upstream):
    assert member_client.get(search_url()).status_code == 200
    kept = cache.get(USER_KEY.format(user_id=member.pk))
    assert kept["fields"]["username"] == "ana"
    assert "password" not in kept["fields"]
    assert member.password.encode() not in cache_contents()
    # The password stays deferred: a page that asks for it reads it from the database.
    assert member_client.get(search_url()).wsgi_request.user.password == member.password


def test_a_password_set_elsewhere_ends_the_session_at_the_next_request(
    member_client, member, upstream
):
    assert member_client.get(search_url()).status_code == 200
    member.set_password("another long passphrase")
    member.save()
    response = member_client.get(search_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_deactivated_member_is_signed_out_at_the_next_request(member_client, member, upstream):
    assert member_client.get(search_url()).status_code == 200
    member.is_active = False
    member.save()
    response = member_client.get(search_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_session_whose_hash_differs_from_the_kept_one_goes_djangos_way(
    member_client, member, upstream
):
    assert member_client.get(search_url()).status_code == 200
    key = USER_KEY.format(user_id=member.pk)
    kept = cache.get(key)
    cache.set(key, {**kept, "auth_hash": "0" * len(kept["auth_hash"])})
    # Django checks the session against the row: it matches, and the right row is kept again.
    assert len(queries_of(member_client, search_url())) == 1
    assert cache.get(key)["auth_hash"] == kept["auth_hash"]
    assert queries_of(member_client, search_url()) == []
