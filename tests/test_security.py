"""Sign-in, framing, headers and the deployment settings: who may see what."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.urls import reverse

from contacts.models import AuditEvent, Membership
from contacts.upstream.organisations import organisation_get
from tests.conftest import ROOT
from tests.support import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "contacts.example.com",
    "CONTACTSHIP_ORGANISATIONS": json.dumps({"org-1": {"name": "One", "api_key": "k-123"}}),
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DASHBOARD_"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_under(env: dict[str, str], *names: str) -> dict:
    """The named settings as the settings module derives them from these variables."""
    code = f"from django.conf import settings; import json; print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}, default=str))"  # noqa: E501
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- deployment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"DASHBOARD_FRAME_ANCESTORS": "https://intranet.example.org"},
        {
            "DASHBOARD_REMOTE_USER_HEADER": "X-Forwarded-User",
            "DASHBOARD_TRUSTED_PROXIES": "10.0.0.5,192.168.8.0/24",
        },
    ],
    ids=["plain", "framed by another site", "intranet sign-in"],
)
def test_production_settings_pass_the_deploy_check(extra):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, **extra})
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION}
    del env["DJANGO_SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_forgotten_debug_variable_means_production():
    # Fail closed: without DJANGO_DEBUG the dashboard is in production mode (and so needs a key).
    found = settings_under(
        {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}, "DEBUG", "DASHBOARD_HTTPS"
    )
    assert found == {"DEBUG": False, "DASHBOARD_HTTPS": True}
    assert run_manage("check", env={}).returncode != 0


def test_production_refuses_the_development_secret_key():
    from dashboard.settings.base import _DEV_SECRET_KEY

    result = run_manage("check", env={**PRODUCTION, "DJANGO_SECRET_KEY": _DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "development value" in result.stderr
    assert _DEV_SECRET_KEY not in result.stderr + result.stdout


def test_framing_by_another_site_makes_cookies_samesite_none_and_secure():
    framed = settings_under(
        {**PRODUCTION, "DASHBOARD_FRAME_ANCESTORS": "https://intranet.example.org"},
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SAMESITE",
        "LANGUAGE_COOKIE_SAMESITE",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "LANGUAGE_COOKIE_SECURE",
        "SECURE_CSP",
    )
    assert framed["SESSION_COOKIE_SAMESITE"] == framed["CSRF_COOKIE_SAMESITE"] == "None"
    assert framed["LANGUAGE_COOKIE_SAMESITE"] == "None"
    assert framed["SESSION_COOKIE_SECURE"] and framed["CSRF_COOKIE_SECURE"]
    assert framed["LANGUAGE_COOKIE_SECURE"]
    assert framed["SECURE_CSP"]["frame-ancestors"] == ["https://intranet.example.org"]

    same_site = settings_under(
        {**PRODUCTION, "DASHBOARD_FRAME_ANCESTORS": "https://intranet.example.com"},
        "SESSION_COOKIE_SAMESITE",
    )
    assert same_site["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_session_age_is_a_setting():
    env = {"DJANGO_DEBUG": "1", "DASHBOARD_SESSION_AGE": "600"}
    assert settings_under(env, "SESSION_COOKIE_AGE") == {"SESSION_COOKIE_AGE": 600}


# --- headers ------------------------------------------------------------------------------


def test_every_page_has_a_strict_policy_and_cannot_be_framed_by_default(client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_frame_ancestors_reach_the_header(client, settings):
    settings.SECURE_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["https://intranet.example"]}
    csp = client.get(reverse("login"))["Content-Security-Policy"]
    assert "frame-ancestors https://intranet.example" in csp


def test_templates_carry_no_inline_script_or_style():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "<script>" not in text and "style=" not in text and "<style" not in text, path


# --- sign-in --------------------------------------------------------------------------------


def test_password_logins_are_throttled_and_audited(client, upstream, member):
    statuses = [
        client.post(reverse("login"), {"username": "ana", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed log-in attempts" in locked.content
    # How long, not "for a while": DASHBOARD_LOGIN_COOLOFF_MINUTES (15 by default).
    assert b"paused for 15 minutes" in locked.content
    kinds = list(AuditEvent.objects.order_by("at", "id").values_list("kind", flat=True))
    assert kinds.count("login_failed") >= 5
    assert "locked_out" in kinds
    assert "login" not in kinds


def test_login_and_logout_are_audited_and_logout_works(client, upstream, member):
    client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("contact_list", args=["org-tejo"])).status_code == 302
    kinds = list(AuditEvent.objects.order_by("at", "id").values_list("kind", "username"))
    assert kinds == [("login", "ana"), ("logout", "ana")]


def test_denied_access_is_audited(client, upstream, django_user_model):
    client.force_login(make_user(django_user_model, "viewer", {"org-tejo": False}))
    assert client.get(reverse("contact_list", args=["org-harbor"])).status_code == 403
    assert client.get(reverse("contact_export", args=["org-tejo", "csv"])).status_code == 403
    denied = AuditEvent.objects.filter(kind="denied").order_by("at", "id")
    assert [(e.organisation_id, e.path) for e in denied] == [
        ("org-harbor", "/orgs/org-harbor/contacts/"),
        ("org-tejo", "/orgs/org-tejo/contacts/export.csv"),
    ]


@pytest.fixture
def intranet_sign_in(settings):
    settings.DASHBOARD_REMOTE_USER_HEADER = "X-Forwarded-User"
    settings.DASHBOARD_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address
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


def test_the_intranet_header_signs_in_and_creates_a_user_without_access(
    client, upstream, intranet_sign_in, django_user_model
):
    response = client.get("/", HTTP_X_FORWARDED_USER="maria.lopez")
    assert response.status_code == 200
    assert b"No organisation yet" in response.content
    user = django_user_model.objects.get(username="maria.lopez")
    assert not user.has_usable_password()
    assert not Membership.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(kind="login", username="maria.lopez").exists()

    Membership.objects.create(user=user, organisation_id="org-harbor")
    page = client.get(
        reverse("contact_list", args=["org-harbor"]), HTTP_X_FORWARDED_USER="maria.lopez"
    )
    assert page.status_code == 200


def test_without_the_setting_the_header_is_ignored(client, upstream):
    response = client.get("/", HTTP_X_FORWARDED_USER="intruder")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- the compact layout inside a frame -----------------------------------------------------


def test_pages_shown_in_a_frame_drop_the_chrome(member_client, upstream, client):
    framed = member_client.get(
        reverse("contact_list", args=["org-harbor"]), HTTP_SEC_FETCH_DEST="iframe"
    )
    assert b'<body class="embedded">' in framed.content
    assert "Sec-Fetch-Dest" in framed["Vary"]
    plain = member_client.get(reverse("contact_list", args=["org-harbor"]))
    assert b"<body>" in plain.content
    login = client.get(reverse("login"), HTTP_SEC_FETCH_DEST="iframe")
    assert b'<body class="embedded">' in login.content


def test_embed_parameter_is_remembered_across_links(member_client, upstream):
    member_client.get(reverse("contact_list", args=["org-harbor"]) + "?embed=1")
    later = member_client.get(reverse("contact_list", args=["org-harbor"]) + "?full_name=a")
    assert b'<body class="embedded">' in later.content
    member_client.get("/?embed=0")
    assert b"<body>" in member_client.get(reverse("contact_list", args=["org-harbor"])).content


# --- organisations and keys ------------------------------------------------------------------


def test_a_key_can_come_from_a_file(settings, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file-123\n")
    settings.CONTACTSHIP_ORGANISATIONS = {
        "org-f": {"name": "F", "api_key_file": str(secret)},
        "org-g": {"name": "G", "api_key_file": str(tmp_path / "missing")},
    }
    assert organisation_get("org-f").api_key == "from-a-file-123"
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "'org-g' has no usable key" in str(raised.value)
    assert "'org-f'" not in str(raised.value)
    assert "from-a-file-123" not in str(raised.value)


def test_remove_member(upstream, django_user_model, capsys):
    make_user(django_user_model, "maria", {"org-tejo": True})
    call_command("remove_member", "maria", "org-tejo")
    assert not Membership.objects.exists()
    assert "Removed: maria from org-tejo" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not a member"):
        call_command("remove_member", "maria", "org-tejo")


def test_the_intranet_header_is_ignored_from_an_address_that_is_not_a_trusted_proxy(
    client, upstream, intranet_sign_in, settings, django_user_model
):
    settings.DASHBOARD_TRUSTED_PROXIES = ["10.0.0.5"]
    response = client.get("/", HTTP_X_FORWARDED_USER="maria.lopez")  # from 127.0.0.1
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not django_user_model.objects.filter(username="maria.lopez").exists()
    trusted = client.get("/", HTTP_X_FORWARDED_USER="maria.lopez", REMOTE_ADDR="10.0.0.5")
    assert trusted.status_code == 200


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_the_intranet_header_never_signs_in_staff_or_superusers(
    client, upstream, intranet_sign_in, django_user_model, flag
):
    django_user_model.objects.create_user(username="boss", password=PASSWORD, **{flag: True})
    response = client.get("/", HTTP_X_FORWARDED_USER="boss")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not AuditEvent.objects.filter(kind="login", username="boss").exists()
    admin = client.get("/admin/", HTTP_X_FORWARDED_USER="boss")
    assert admin.status_code == 302


def test_the_deploy_check_warns_when_the_header_is_on_without_trusted_proxies():
    env = {**PRODUCTION, "DASHBOARD_REMOTE_USER_HEADER": "X-Forwarded-User"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "contacts.W003" in result.stderr + result.stdout


def test_a_malformed_trusted_proxy_setting_stops_the_start():
    result = run_manage("check", env={**PRODUCTION, "DASHBOARD_TRUSTED_PROXIES": "10.0.0.300"})
    assert result.returncode != 0
    assert "DASHBOARD_TRUSTED_PROXIES" in result.stderr


# --- the client's address behind the proxy ------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No proxy trusted: the header is whatever the client typed.
        ("203.0.113.7", "6.6.6.6", "203.0.113.7"),
        # From the proxy: the address it appended, not the client's own entries to its left.
        ("10.0.0.5", "6.6.6.6, 198.51.100.20", "198.51.100.20"),
        ("10.0.0.5", "198.51.100.20", "198.51.100.20"),
        # Two trusted hops: the first untrusted address from the right.
        ("10.0.0.5", "198.51.100.20, 10.0.0.9", "198.51.100.20"),
        # A proxy that sent no header, or garbage: the proxy's own address.
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    rf, settings, peer, forwarded, expected
):
    from contacts.proxy import client_address

    settings.DASHBOARD_TRUSTED_PROXIES = ["10.0.0.0/24"] if peer.startswith("10.") else []
    request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_login_throttle_and_audit_count_the_real_client_behind_the_proxy(
    client, settings, django_user_model
):
    settings.DASHBOARD_TRUSTED_PROXIES = ["10.0.0.5"]
    settings.AXES_FAILURE_LIMIT = 2
    django_user_model.objects.create_user(username="admin", password=PASSWORD, is_superuser=True)
    login = reverse("login")
    attacker = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(3):
        client.post(login, {"username": "admin", "password": "wrong"}, **attacker)
    failed = AuditEvent.objects.filter(kind="login_failed", username="admin")
    assert {e.ip_address for e in failed} == {"198.51.100.66"}
    assert AuditEvent.objects.filter(kind="locked_out", ip_address="198.51.100.66").exists()
    # The administrator, at another address behind the same proxy, is not locked out.
    own = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    response = client.post(login, {"username": "admin", "password": PASSWORD}, **own)
    assert response.status_code == 302
    assert AuditEvent.objects.get(kind="login", username="admin").ip_address == "198.51.100.1"


def test_gunicorn_binds_loopback_unless_told_otherwise(monkeypatch):
    import importlib

    import dashboard.gunicorn

    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    assert importlib.reload(dashboard.gunicorn).bind == "127.0.0.1:8000"
    monkeypatch.setenv("GUNICORN_BIND", "10.0.0.11:8000")
    assert importlib.reload(dashboard.gunicorn).bind == "10.0.0.11:8000"


# --- same site, as browsers decide it, and partitioned cookies ----------------------------


@pytest.mark.parametrize(
    ("ancestor", "dashboard", "cross_site"),
    [
        ("https://intranet.example.com", "https://contacts.example.com", False),
        ("https://intranet.example.co.uk", "https://contacts.example.co.uk", False),
        ("https://intranet.example.org", "https://contacts.example.com", True),
        # Two registrable domains under one public suffix (github.io is on the list).
        ("https://team-a.github.io", "https://team-b.github.io", True),
        ("https://a.example.co.uk", "https://b.other.co.uk", True),
        # Schemeful: the same domain over http and https is two sites.
        ("http://intranet.example.com", "https://contacts.example.com", True),
        ("https://intranet.example:8443", "https://dashboard.test:8443", True),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8000", False),
    ],
)
def test_same_site_is_scheme_and_registrable_domain(ancestor, dashboard, cross_site):
    from contacts.sites import any_cross_site

    assert any_cross_site([ancestor], [dashboard]) is cross_site


def test_the_dashboards_origin_can_be_stated_explicitly():
    env = {
        **PRODUCTION,
        "DJANGO_ALLOWED_HOSTS": "*",
        "DASHBOARD_FRAME_ANCESTORS": "https://portal.team-a.github.io",
    }
    names = ("DASHBOARD_FRAMED_CROSS_SITE", "SESSION_COOKIE_SAMESITE", "MIDDLEWARE")
    same = settings_under({**env, "DASHBOARD_ORIGIN": "https://contacts.team-a.github.io"}, *names)
    assert same["DASHBOARD_FRAMED_CROSS_SITE"] is False
    assert same["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "contacts.middleware.PartitionedCookieMiddleware" not in same["MIDDLEWARE"]
    other = settings_under({**env, "DASHBOARD_ORIGIN": "https://contacts.team-b.github.io"}, *names)
    assert other["DASHBOARD_FRAMED_CROSS_SITE"] is True
    assert other["SESSION_COOKIE_SAMESITE"] == "None"
    assert "contacts.middleware.PartitionedCookieMiddleware" in other["MIDDLEWARE"]


@pytest.fixture
def partitioned(settings):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(1, "contacts.middleware.PartitionedCookieMiddleware")
    settings.MIDDLEWARE = middleware
    for name in ("SESSION", "CSRF", "LANGUAGE"):
        setattr(settings, f"{name}_COOKIE_SAMESITE", "None")
        setattr(settings, f"{name}_COOKIE_SECURE", True)


def set_cookie_lines(response) -> dict[str, str]:
    return {name: morsel.output(header="") for name, morsel in response.cookies.items()}


def test_cookies_of_a_cross_site_frame_are_partitioned_and_so_is_their_deletion(
    client, member, partitioned
):
    login = client.get(reverse("login"))
    csrf = set_cookie_lines(login)["csrftoken"]
    assert "SameSite=None" in csrf and "Secure" in csrf and csrf.endswith("; Partitioned")
    response = client.post(
        reverse("login"),
        {"username": "ana", "password": PASSWORD},
        secure=True,
    )
    assert response.status_code == 302
    session = set_cookie_lines(response)["sessionid"]
    assert "SameSite=None" in session and session.endswith("; Partitioned")
    logout = client.post(reverse("logout"), secure=True)
    deletion = set_cookie_lines(logout)["sessionid"]
    assert "Max-Age=0" in deletion and deletion.endswith("; Partitioned")


def test_cookies_are_not_partitioned_without_a_cross_site_frame(client, member):
    login = client.get(reverse("login"))
    assert "Partitioned" not in set_cookie_lines(login)["csrftoken"]


def test_postgresql_connections_come_from_a_pool_sized_by_the_settings():
    env = {**PRODUCTION, "DATABASE_URL": "postgres://dashboard@db.internal:5432/dashboard"}
    pooled = settings_under({**env, "DATABASE_POOL_SIZE": "3"}, "DATABASES")["DATABASES"]
    assert pooled["default"]["OPTIONS"]["pool"]["max_size"] == 3
    assert pooled["default"]["CONN_MAX_AGE"] == 0  # Django refuses persistent + pooled
    by_threads = settings_under({**env, "GUNICORN_THREADS": "6"}, "DATABASES")["DATABASES"]
    assert by_threads["default"]["OPTIONS"]["pool"]["max_size"] == 6


def test_the_suite_uses_the_pool_when_it_runs_against_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("runs in CI's PostgreSQL pass (DATABASE_URL=postgres://...)")
    connection.ensure_connection()
    assert connection.pool is not None
    assert connection.pool.max_size >= 1


# --- hardening ------------------------------------------------------------------------------


def test_pages_that_show_contacts_are_never_stored(member_client, upstream):
    from contacts.demo.data import contacts_for

    for url in (
        reverse("contact_list", args=["org-harbor"]),
        reverse("contact_detail", args=["org-harbor", contacts_for("org-harbor")[0]["id"]]),
    ):
        response = member_client.get(url)
        assert response.status_code == 200
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, url


def test_anonymous_requests_create_no_session_rows(client):
    from django.contrib.sessions.models import Session

    for _ in range(5):
        assert client.get(reverse("login") + "?embed=1").status_code == 200
    later = client.get(reverse("login"))
    assert b'<body class="embedded">' in later.content  # still remembered, in a cookie
    assert Session.objects.count() == 0


def test_names_and_descriptions_are_isolated_for_bidirectional_text(member_client, upstream):
    from contacts.demo.data import contacts_for

    page = member_client.get(reverse("contact_list", args=["org-harbor"])).content.decode()
    assert page.count('<td class="col-full_name" dir="auto"') >= 100  # every name
    assert page.count('<td class="col-description optional" dir="auto">') >= 100  # descriptions
    contact_id = contacts_for("org-harbor")[0]["id"]
    detail = member_client.get(reverse("contact_detail", args=["org-harbor", contact_id]))
    assert '<h1 dir="auto">' in detail.content.decode()
    assert '<dd dir="auto">' in detail.content.decode()


def test_password_reset_pages_are_not_exposed_by_default(client):
    for path in ("/accounts/password_reset/", "/accounts/reset/done/"):
        assert client.get(path).status_code == 404
    assert client.get(reverse("login")).status_code == 200


def test_password_reset_pages_come_when_asked_for():
    code = "from django.urls import reverse; print(reverse('password_reset'))"
    env = {"DJANGO_DEBUG": "1", "DASHBOARD_PASSWORD_RESET": "1"}
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("/accounts/password_reset/")


def test_a_403_is_logged_as_one_line(client, django_user_model, upstream):
    import io
    import logging

    outsider = make_user(django_user_model, "outsider", {"org-tejo": False})
    client.force_login(outsider)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        assert client.get(reverse("contact_list", args=["org-harbor"])).status_code == 403
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "WARNING django.request Forbidden (Permission denied): /orgs/org-harbor/contacts/"
    ]
