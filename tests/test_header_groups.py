"""The trusted-header sign-in with a groups header (DASHBOARD_REMOTE_GROUPS_HEADER): the same
mapping as OIDC, believed only from DASHBOARD_TRUSTED_PROXIES."""

import pytest
from django.test import Client

from contacts.models import AuditEvent, Membership
from tests.support import make_user

pytestmark = pytest.mark.django_db

MAPPING = {"sales": ["org-tejo"], "sales-leads": ["org-tejo:export", "org-harbor"]}
# A documentation address (TEST-NET-1): only ever a value in the test client's request.
UNTRUSTED = "192.0.2.7"
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def header_sign_in(settings):
    settings.DASHBOARD_REMOTE_USER_HEADER = "X-Forwarded-User"
    settings.DASHBOARD_REMOTE_GROUPS_HEADER = "X-Forwarded-Groups"
    settings.DASHBOARD_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address
    settings.DASHBOARD_GROUP_MEMBERSHIPS = MAPPING
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "contacts.auth.IntranetRemoteUserMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "contacts.auth.IntranetRemoteUserBackend",
    ]


def rights(username: str) -> dict[str, bool]:
    """The user's memberships (organisation -> export right), as access reads them."""
    return dict(
        Membership.objects.filter(user__username=username).values_list(
            "organisation_id", "can_export"
        )
    )


def test_the_groups_header_grants_the_mapped_memberships(header_sign_in):
    client = Client()
    client.get("/", HTTP_X_FORWARDED_USER="lu", HTTP_X_FORWARDED_GROUPS="sales-leads, other")
    assert rights("lu") == {"org-tejo": True, "org-harbor": False}
    event = AuditEvent.objects.get(kind="login", username="lu")
    assert event.method == "header"
    assert sorted(event.changes) == ["+org-harbor", "+org-tejo:export"]


def test_memberships_follow_the_header_during_the_session_and_spare_hand_grants(
    header_sign_in,
):
    client = Client()
    client.get("/", HTTP_X_FORWARDED_USER="mo", HTTP_X_FORWARDED_GROUPS="sales-leads")
    harbor = Membership.objects.get(user__username="mo", organisation_id="org-harbor")
    harbor.by_hand, harbor.hand_export = True, True  # an administrator adds the export right
    harbor.save()
    client.get("/", HTTP_X_FORWARDED_USER="mo", HTTP_X_FORWARDED_GROUPS="sales")
    assert rights("mo") == {"org-tejo": False, "org-harbor": True}
    client.get("/", HTTP_X_FORWARDED_USER="mo", HTTP_X_FORWARDED_GROUPS="")
    assert rights("mo") == {"org-harbor": True}


def test_the_headers_from_an_untrusted_address_are_ignored(header_sign_in, django_user_model):
    client = Client(REMOTE_ADDR=UNTRUSTED)
    response = client.get("/", HTTP_X_FORWARDED_USER="ned", HTTP_X_FORWARDED_GROUPS="sales")
    assert response.status_code == 302
    assert not django_user_model.objects.filter(username="ned").exists()

    # Signed in with a password, the groups header of an untrusted client changes nothing.
    client.force_login(make_user(django_user_model, "olga"), backend=PASSWORD_BACKEND)
    client.get("/", HTTP_X_FORWARDED_GROUPS="sales-leads")
    assert rights("olga") == {}


def test_a_password_session_does_not_take_groups_from_the_header(header_sign_in, django_user_model):
    client = Client()
    client.force_login(make_user(django_user_model, "pia"), backend=PASSWORD_BACKEND)
    client.get("/", HTTP_X_FORWARDED_GROUPS="sales-leads")
    assert rights("pia") == {}
