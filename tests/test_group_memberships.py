"""Memberships from groups (DASHBOARD_GROUP_MEMBERSHIPS), without a provider: the mapping, the
exact sync, hand-granted memberships, the rights that follow, the check and the page for a person
without any organisation."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from contacts.access import access_for, user_rights
from contacts.checks import group_memberships_check
from contacts.memberships import grants_for, mapping_problems, sync_group_memberships
from contacts.models import Membership
from contacts.upstream.organisations import Organisation
from tests.support import make_user

MAPPING = {"a": ["org-tejo", "org-harbor:export"], "b": ["org-tejo:export"], "c": ["bad:x"]}


@pytest.fixture
def mapping(settings):
    settings.DASHBOARD_GROUP_MEMBERSHIPS = MAPPING


def test_a_persons_grants_are_the_union_over_their_groups(mapping):
    assert grants_for(["a"]) == {"org-tejo": False, "org-harbor": True}
    assert grants_for(["a", "b"]) == {"org-tejo": True, "org-harbor": True}
    assert grants_for(["c", "unknown"]) == {}


def test_mapping_problems_name_unknown_organisations_and_bad_grants():
    problems = mapping_problems(MAPPING, ["org-tejo"])
    assert any("'org-harbor' is not in CONTACTSHIP_ORGANISATIONS" in p for p in problems)
    assert any("'bad:x'" in p for p in problems)
    assert mapping_problems({"a": ["org-tejo:export"]}, ["org-tejo"]) == []
    assert mapping_problems(["not", "an", "object"], []) != []


def test_check_reports_an_unknown_organisation(settings):
    settings.DASHBOARD_GROUP_MEMBERSHIPS = {"sales": ["org-nowhere"]}
    errors = [m for m in group_memberships_check(None) if m.id == "contacts.E006"]
    assert errors and "org-nowhere" in errors[0].msg


@pytest.mark.django_db
def test_sync_is_exact_and_leaves_hand_granted_memberships(mapping, django_user_model):
    user = make_user(django_user_model, "hana", {"org-harbor": False, "org-andes": True})
    assert sync_group_memberships(user, ["a"]) == ["+org-harbor:export", "+org-tejo"]
    # Hand-granted search, group-granted export: the broader one applies.
    assert user_rights(user).exports == {"org-harbor": True, "org-andes": True, "org-tejo": False}
    assert sync_group_memberships(user, ["b"]) == ["-org-harbor", "~org-tejo:export"]
    assert user_rights(user).exports == {"org-harbor": False, "org-andes": True, "org-tejo": True}
    assert sync_group_memberships(user, ["b"]) == []
    assert sync_group_memberships(user, []) == ["-org-tejo"]
    rows = Membership.objects.filter(user=user).values_list(
        "organisation_id", "can_export", "by_hand", "groups_grant"
    )
    assert set(rows) == {("org-harbor", False, True, ""), ("org-andes", True, True, "")}
    assert access_for(user, Organisation(id="org-tejo", name="Tejo")) is None


@pytest.mark.django_db
def test_commands_touch_only_the_hand_grant(mapping, django_user_model, upstream):
    user = make_user(django_user_model, "iris")
    sync_group_memberships(user, ["a"])  # org-tejo: search, from the group
    call_command("add_member", "iris", "org-tejo", "--can-export", stdout=io.StringIO())
    tejo = Membership.objects.get(user=user, organisation_id="org-tejo")
    assert (tejo.can_export, tejo.by_hand, tejo.groups_grant) == (True, True, "view")
    call_command("remove_member", "iris", "org-tejo", stdout=io.StringIO())
    tejo.refresh_from_db()
    assert (tejo.can_export, tejo.by_hand, tejo.groups_grant) == (False, False, "view")
    sync_group_memberships(user, [])
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_person_without_an_organisation_is_told_whom_to_ask(django_user_model, settings):
    settings.DASHBOARD_ACCESS_CONTACT = "the service desk (ext. 4242)"
    client = Client()
    client.force_login(make_user(django_user_model, "jon"))
    page = client.get("/").content.decode()
    assert "Your account has no organisation in the dashboard" in page
    assert "the service desk (ext. 4242)" in page
    client.cookies["django_language"] = "es"
    page = client.get("/", headers={"accept-language": "es"}).content.decode()
    assert "the service desk (ext. 4242)" in page
    assert "Your account has no organisation" not in page


@pytest.mark.django_db
def test_the_admin_shows_where_a_membership_came_from_and_edits_the_hand_grant(
    mapping, django_user_model, admin_client
):
    user = make_user(django_user_model, "kai")
    sync_group_memberships(user, ["a"])
    listing = admin_client.get("/admin/contacts/membership/").content.decode()
    assert "from groups" in listing and "granted by hand" in listing
    tejo = Membership.objects.get(user=user, organisation_id="org-tejo")
    response = admin_client.post(
        f"/admin/contacts/membership/{tejo.pk}/change/",
        {"user": user.pk, "organisation_id": "org-tejo", "can_export": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tejo.refresh_from_db()
    assert (tejo.by_hand, tejo.hand_export, tejo.groups_grant, tejo.can_export) == (
        True,
        True,
        "view",
        True,
    )
    sync_group_memberships(user, [])
    tejo.refresh_from_db()
    assert (tejo.by_hand, tejo.can_export, tejo.groups_grant) == (True, True, "")
