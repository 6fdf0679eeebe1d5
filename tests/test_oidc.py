"""Sign-in with an OpenID Connect provider: the whole flow against a real provider on loopback.

The provider is oidc-provider-mock in a subprocess (contacts/demo/oidc_provider.py, which adds PKCE
checking and a record of what it was sent); the dashboard is Django's test client, talking to it
over real HTTP through social-core. Nothing of the library is mocked.
"""

import io
import json
import re
import socket
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from contacts.demo.oidc_provider import s256
from contacts.models import AuditEvent, Membership
from contacts.oidc import identity_uid
from tests.support import ROOT, make_user

pytestmark = [pytest.mark.live, pytest.mark.django_db]

MAPPING = {
    "sales": ["org-tejo"],
    "sales-leads": ["org-tejo:export", "org-harbor"],
    "research": ["org-andes:export"],
}


class Provider:
    def __init__(self, url: str):
        self.url = url

    def set_person(self, sub: str, **claims) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204

    def log(self) -> dict:
        return requests.get(f"{self.url}/_test/log", timeout=5).json()


@contextmanager
def provider_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "contacts.demo.oidc_provider", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "http://" in line, f"provider did not start: {line!r}"
        yield Provider(line.split()[-1]), process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def provider():
    with provider_process() as (running, _):
        yield running


def configure(settings, issuer: str) -> None:
    settings.DASHBOARD_OIDC_ISSUER = issuer
    settings.DASHBOARD_OIDC_CLIENT_ID = "dashboard"
    settings.DASHBOARD_OIDC_CLIENT_SECRET = "test-client-secret"
    settings.DASHBOARD_OIDC_NAME = "Intranet"
    settings.DASHBOARD_GROUP_MEMBERSHIPS = MAPPING


@pytest.fixture
def oidc(settings, provider):
    configure(settings, provider.url)
    return provider


def start(client: Client, next_url: str = "/") -> str:
    """The dashboard's redirect to the provider's authorization endpoint."""
    response = client.get("/accounts/oidc/login/", {"next": next_url})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def authorize(auth_url: str, sub: str) -> str:
    """The person `sub` signs in at the provider: the callback address it sends them to."""
    response = requests.post(auth_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def callback(client: Client, url: str):
    parsed = urlparse(url)
    return client.get(f"{parsed.path}?{parsed.query}")


def sign_in(client: Client, sub: str, next_url: str = "/"):
    return callback(client, authorize(start(client, next_url), sub))


def group_rights(user) -> dict[str, bool]:
    """The user's memberships (organisation -> export right), as access reads them."""
    return dict(Membership.objects.filter(user=user).values_list("organisation_id", "can_export"))


def signed_in_user(client: Client):
    return client.get("/").wsgi_request.user


def test_login_page_leads_with_the_provider_and_keeps_the_password_form(oidc):
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Intranet" in page
    assert 'href="/accounts/oidc/login/' in page
    assert 'name="password"' in page


def test_first_sign_in_creates_the_person_with_exactly_the_mapped_memberships(oidc):
    oidc.set_person(
        "ana-1",
        email="ana@example.org",
        given_name="Ana",
        family_name="Lima",
        groups=["sales-leads", "unmapped"],
    )
    client = Client()
    response = sign_in(client, "ana-1", next_url="/orgs/org-tejo/contacts/")
    assert response.status_code == 302
    assert response["Location"] == "/orgs/org-tejo/contacts/"
    user = signed_in_user(client)
    assert user.is_authenticated
    assert (user.first_name, user.last_name, user.email) == ("Ana", "Lima", "ana@example.org")
    assert not user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert user.social_auth.get().uid == identity_uid(oidc.url, "ana-1")
    assert group_rights(user) == {"org-tejo": True, "org-harbor": False}
    event = AuditEvent.objects.filter(kind="login", user=user).get()
    assert event.method == "oidc"
    assert sorted(event.changes) == ["+org-harbor", "+org-tejo:export"]


def test_pkce_state_and_nonce_are_sent_and_checked(oidc):
    oidc.set_person("pkce-1", email="p@example.org", groups=["sales"])
    client = Client()
    auth_url = start(client)
    params = {k: v[0] for k, v in parse_qs(urlparse(auth_url).query).items()}
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"]
    assert params["response_type"] == "code"
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    response = callback(client, authorize(auth_url, "pkce-1"))
    assert response.status_code == 302 and signed_in_user(client).is_authenticated
    log = oidc.log()
    sent = [a for a in log["authorize"] if a.get("state") == params["state"]]
    assert sent and sent[0]["code_challenge"] == params["code_challenge"]
    # The provider refuses a code whose verifier does not hash to the challenge (S256); this
    # one was accepted, so the dashboard sent the right verifier.
    assert {"grant_type": "authorization_code", "code_verifier_sent": True} in log["token"]
    assert s256("x") != params["code_challenge"]


def test_a_changed_group_set_changes_the_memberships_at_the_next_sign_in(oidc):
    oidc.set_person("bo-1", email="bo@example.org", name="Bo Rivera", groups=["sales-leads"])
    client = Client()
    sign_in(client, "bo-1")
    user = signed_in_user(client)
    assert group_rights(user) == {"org-tejo": True, "org-harbor": False}

    oidc.set_person(
        "bo-1", email="bo.rivera@example.org", name="Bo Rivera", groups=["sales", "research"]
    )
    client.logout()
    sign_in(client, "bo-1")
    again = signed_in_user(client)
    assert again.pk == user.pk
    assert again.email == "bo.rivera@example.org"
    assert (again.first_name, again.last_name) == ("Bo", "Rivera")
    # downgraded, removed, added
    assert group_rights(again) == {"org-tejo": False, "org-andes": True}
    event = AuditEvent.objects.filter(kind="login", user=user).first()
    assert sorted(event.changes) == ["+org-andes:export", "-org-harbor", "~org-tejo"]


def test_a_hand_granted_membership_survives_and_the_broader_right_applies(oidc):
    oidc.set_person("cy-1", email="cy@example.org", groups=["sales-leads"])
    client = Client()
    sign_in(client, "cy-1")
    user = signed_in_user(client)
    # By hand: the export right where the group gives only search, and another organisation.
    harbor = Membership.objects.get(user=user, organisation_id="org-harbor")
    harbor.by_hand, harbor.hand_export = True, True
    harbor.save()
    Membership.objects.create(user=user, organisation_id="org-andes", can_export=False)
    assert group_rights(user) == {"org-tejo": True, "org-harbor": True, "org-andes": False}

    oidc.set_person("cy-1", email="cy@example.org", groups=["sales"])
    client.logout()
    sign_in(client, "cy-1")
    assert group_rights(user) == {"org-tejo": False, "org-harbor": True, "org-andes": False}

    oidc.set_person("cy-1", email="cy@example.org", groups=[])
    client.logout()
    sign_in(client, "cy-1")
    assert group_rights(user) == {"org-harbor": True, "org-andes": False}
    assert not Membership.objects.filter(user=user).exclude(groups_grant="").exists()


def test_the_same_email_never_links_an_existing_password_account(oidc, django_user_model):
    existing = make_user(django_user_model, "dee", {"org-andes": True})
    existing.email = "dee@example.org"
    existing.save()
    oidc.set_person("dee-1", email="dee@example.org", preferred_username="dee", groups=[])
    client = Client()
    sign_in(client, "dee-1")
    user = signed_in_user(client)
    assert user.is_authenticated and user.pk != existing.pk
    assert user.username != "dee"


def test_an_administrators_identity_is_refused(oidc, django_user_model):
    oidc.set_person("root-1", email="root@example.org", groups=["sales"])
    client = Client()
    sign_in(client, "root-1")
    user = signed_in_user(client)
    user.is_staff = True
    user.save()
    client.logout()
    response = sign_in(client, "root-1")
    assert response.status_code == 403
    assert "username and password" in response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_a_tampered_state_signs_nobody_in(oidc):
    oidc.set_person("eve-1", email="eve@example.org", groups=["sales"])
    client = Client()
    url = urlparse(authorize(start(client), "eve-1"))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    query["state"] = query["state"][:-2] + ("AA" if query["state"][-2:] != "AA" else "BB")
    response = client.get(f"{url.path}?{urlencode(query)}")
    assert response.status_code == 400
    assert "Nobody was signed in" in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert not Membership.objects.exists()
    failed = AuditEvent.objects.get(kind="login_failed")
    assert failed.method == "oidc" and failed.error


def test_a_replayed_code_signs_nobody_in(oidc):
    oidc.set_person("fay-1", email="fay@example.org", groups=["sales"])
    first = Client()
    used = urlparse(authorize(start(first), "fay-1"))
    assert callback(first, used.geturl()).status_code == 302

    # The same callback again, in a browser that has a sign-in of its own under way (its own
    # state), with the code that was already spent.
    other = Client()
    own = urlparse(authorize(start(other), "fay-1"))
    own_state = parse_qs(own.query)["state"][0]
    replay = {**{k: v[0] for k, v in parse_qs(used.query).items()}, "state": own_state}
    response = other.get(f"{used.path}?{urlencode(replay)}")
    assert response.status_code == 400
    assert not signed_in_user(other).is_authenticated
    # And the very same callback in the browser that used it.
    first.logout()
    response = callback(first, used.geturl())
    assert response.status_code == 400
    assert not signed_in_user(first).is_authenticated


def _closed_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_provider_that_is_down_gives_the_login_page_a_message(settings):
    configure(settings, f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    response = Client().get("/accounts/oidc/login/")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    page = response.content.decode()
    assert "not answering" in page and 'name="password"' in page


@pytest.mark.slow
def test_a_provider_that_hangs_gives_the_message_within_five_seconds(settings):
    with closing(socket.socket()) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        configure(settings, f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        response = Client().get("/accounts/oidc/login/")
        assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert "not answering" in response.content.decode()


def test_without_an_issuer_there_is_no_oidc(settings):
    settings.DASHBOARD_OIDC_ISSUER = ""
    assert Client().get("/accounts/oidc/login/").status_code == 404
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode()


def test_no_secret_in_the_pages_or_the_audit(oidc):
    oidc.set_person("gil-1", email="gil@example.org", groups=["sales"])
    client = Client()
    sign_in(client, "gil-1")
    page = client.get("/").content.decode()
    assert "test-client-secret" not in page
    stored = json.dumps(list(AuditEvent.objects.values("changes", "path", "error")))
    assert "test-client-secret" not in stored and "code=" not in stored


def test_an_administrator_links_an_existing_account_to_an_identity(oidc, django_user_model):
    existing = make_user(django_user_model, "kim", {"org-andes": False})
    oidc.set_person("kim-1", email="kim@example.org", groups=["sales"])
    call_command("link_identity", "kim", "kim-1", stdout=io.StringIO())
    client = Client()
    response = sign_in(client, "kim-1")
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert signed_in_user(client).pk == existing.pk
    rows = Membership.objects.filter(user=existing).values_list(
        "organisation_id", "by_hand", "groups_grant"
    )
    assert set(rows) == {("org-andes", True, ""), ("org-tejo", False, "view")}


def test_logout_ends_the_dashboard_session_then_reaches_the_end_session_endpoint(oidc):
    oidc.set_person("lea-1", email="lea@example.org", groups=["sales"])
    client = Client()
    sign_in(client, "lea-1")
    user = signed_in_user(client)
    id_token = user.social_auth.get().extra_data["id_token"]
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    end_session = urlparse(response["Location"])
    assert f"{end_session.scheme}://{end_session.netloc}" == oidc.url
    params = {k: v[0] for k, v in parse_qs(end_session.query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://testserver/accounts/login/"
    assert not signed_in_user(client).is_authenticated
    assert AuditEvent.objects.filter(kind="logout", user=user).exists()

    page = requests.get(response["Location"], timeout=5)
    assert page.status_code == 200
    assert any(e.get("id_token_hint") == id_token for e in oidc.log()["end_session"])


def test_a_password_logout_stays_in_the_dashboard(oidc, django_user_model):
    client = Client()
    client.force_login(
        make_user(django_user_model, "pat"), backend="django.contrib.auth.backends.ModelBackend"
    )
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not signed_in_user(client).is_authenticated


def test_the_recheck_follows_the_groups_without_a_new_sign_in(oidc, settings):
    oidc.set_person("max-1", email="max@example.org", groups=["sales-leads"])
    client = Client()
    sign_in(client, "max-1")
    user = signed_in_user(client)
    settings.DASHBOARD_OIDC_RECHECK_SECONDS = 0
    oidc.set_person("max-1", email="max@example.org", groups=["sales"])
    assert client.get("/").status_code == 200
    assert group_rights(user) == {"org-tejo": False}
    assert signed_in_user(client).is_authenticated
    token_grants = [t["grant_type"] for t in oidc.log()["token"]]
    assert "refresh_token" in token_grants


def test_a_refused_refresh_signs_the_person_out_with_a_page_that_says_why(oidc, settings):
    oidc.set_person("nia-1", email="nia@example.org", groups=["sales"])
    client = Client()
    sign_in(client, "nia-1")
    client.get("/")
    settings.DASHBOARD_OIDC_RECHECK_SECONDS = 0
    revoked = requests.post(f"{oidc.url}/users/nia-1/revoke-tokens", timeout=5)
    assert revoked.status_code == 204
    response = client.get("/orgs/org-tejo/contacts/")
    assert response.status_code == 403
    assert "You were signed out" in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert AuditEvent.objects.filter(kind="logout", username__startswith="nia").exists()


def test_the_recheck_waits_for_its_time(oidc, settings):
    oidc.set_person("ola-1", email="ola@example.org", groups=["sales"])
    client = Client()
    sign_in(client, "ola-1")
    user = signed_in_user(client)
    oidc.set_person("ola-1", email="ola@example.org", groups=[])
    client.get("/")
    assert group_rights(user) == {"org-tejo": False}  # not yet: 900 s have not passed


def test_inside_a_frame_the_sign_in_opens_a_window_that_signs_the_frame_in(oidc):
    frame = Client()
    login_page = frame.get(
        "/accounts/login/?next=/orgs/org-tejo/contacts/", HTTP_SEC_FETCH_DEST="iframe"
    )
    page = login_page.content.decode()
    assert 'data-oidc-popup="/accounts/oidc/login/?next=/accounts/oidc/popup-done/"' in page
    assert 'target="_blank"' in page and "oidc-popup.js" in page

    oidc.set_person("pop-1", email="pop@example.org", groups=["sales"])
    window = Client()
    start_url = start(window, "/accounts/oidc/popup-done/")
    done = callback(window, authorize(start_url, "pop-1"))
    assert done.status_code == 302 and done["Location"] == "/accounts/oidc/popup-done/"
    done = window.get(done["Location"])
    assert done["Cross-Origin-Opener-Policy"] == "unsafe-none"
    token = re.search(r'data-oidc-handoff="([^"]+)"', done.content.decode()).group(1)

    handed = frame.post(
        "/accounts/oidc/handoff/", {"token": token, "next": "/orgs/org-tejo/contacts/"}
    )
    assert handed.status_code == 302 and handed["Location"] == "/orgs/org-tejo/contacts/"
    assert signed_in_user(frame).pk == signed_in_user(window).pk

    # Once only.
    again = Client().post("/accounts/oidc/handoff/", {"token": token})
    assert again.status_code == 400
    assert "Nobody was signed in" in again.content.decode()


def test_a_handoff_never_leads_off_the_site(oidc, django_user_model):
    user = make_user(django_user_model, "quin")
    cache.set("dashboard:oidc-handoff:v1:t0ken", user.pk, 60)
    response = Client().post(
        "/accounts/oidc/handoff/", {"token": "t0ken", "next": "https://elsewhere.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_next_never_leads_off_the_site(oidc):
    oidc.set_person("rex-1", email="rex@example.org", groups=["sales"])
    client = Client()
    response = sign_in(client, "rex-1", next_url="https://elsewhere.example/steal")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_handoff_from_another_site_signs_nobody_in(oidc, django_user_model):
    user = make_user(django_user_model, "ray")
    cache.set("dashboard:oidc-handoff:v1:t0ken2", user.pk, 60)
    response = Client().post(
        "/accounts/oidc/handoff/",
        {"token": "t0ken2"},
        headers={"origin": "https://elsewhere.example", "sec-fetch-site": "cross-site"},
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(kind="login", user=user).exists()
    assert cache.get("dashboard:oidc-handoff:v1:t0ken2") == user.pk  # not spent either


def test_a_provider_that_is_down_at_the_recheck_signs_nobody_out(settings):
    with provider_process() as (provider, process):
        configure(settings, provider.url)
        provider.set_person("sam-1", email="sam@example.org", groups=["sales"])
        client = Client()
        sign_in(client, "sam-1")
        client.get("/")
        process.terminate()
        process.wait(timeout=10)
        settings.DASHBOARD_OIDC_RECHECK_SECONDS = 0
        started = time.monotonic()
        response = client.get("/")
        assert time.monotonic() - started < 5
        assert response.status_code == 200
        user = signed_in_user(client)
        assert user.is_authenticated
        assert group_rights(user) == {"org-tejo": False}


def test_the_client_secret_is_read_from_its_file_and_an_unreadable_one_is_reported(
    settings, tmp_path
):
    from contacts.checks import oidc_check
    from contacts.oidc import client_secret

    settings.DASHBOARD_OIDC_ISSUER = "https://id.example.org"
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    settings.DASHBOARD_OIDC_CLIENT_SECRET_FILE = str(secret)
    assert client_secret() == "from-the-file"
    assert oidc_check(None) == []
    secret.write_text("rotated\n")
    assert client_secret() == "rotated"
    settings.DASHBOARD_OIDC_CLIENT_SECRET_FILE = str(tmp_path / "missing")
    problems = oidc_check(None)
    assert [p.id for p in problems] == ["contacts.E007"]
    assert "rotated" not in problems[0].msg


def test_one_requests_calls_to_the_provider_share_a_budget(oidc, monkeypatch):
    from django.test import RequestFactory
    from social_core.exceptions import AuthProviderError
    from social_django.utils import load_strategy

    from contacts.oidc import DashboardOIDC

    request = RequestFactory().get("/accounts/oidc/login/")
    request.session = {}
    backend = DashboardOIDC(load_strategy(request), redirect_uri="/accounts/oidc/callback/")
    assert backend.oidc_config()["issuer"] == oidc.url  # within the budget: asked
    backend._deadline = time.monotonic()  # the budget spent
    with pytest.raises(AuthProviderError) as refused:
        backend.get_json(f"{oidc.url}/jwks")
    assert refused.value.code == "timeout"
