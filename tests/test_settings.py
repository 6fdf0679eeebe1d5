"""The settings package: the middleware chain's order under each setting that changes it."""

import importlib
import sys

import pytest

HEALTH = "contacts.health.HealthCheckMiddleware"
REQUEST_ID = "contacts.middleware.RequestIdMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
PARTITIONED = "contacts.middleware.PartitionedCookieMiddleware"
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
CSP = "django.middleware.csp.ContentSecurityPolicyMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
LOCALE = "django.middleware.locale.LocaleMiddleware"
COMMON = "django.middleware.common.CommonMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
X_FRAME = "django.middleware.clickjacking.XFrameOptionsMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
SIGNED_IN = "contacts.signed_in.SignedInUserMiddleware"
OIDC_RECHECK = "contacts.middleware.OIDCRecheckMiddleware"
REMOTE_USER = "contacts.auth.IntranetRemoteUserMiddleware"
MESSAGES = "django.contrib.messages.middleware.MessageMiddleware"
HTMX = "django_htmx.middleware.HtmxMiddleware"
EMBEDDED = "contacts.middleware.EmbeddedMiddleware"
DESIGNED_NOT_FOUND = "contacts.middleware.DesignedNotFoundMiddleware"
UPSTREAM_ERRORS = "contacts.middleware.UpstreamErrorMiddleware"
AXES = "axes.middleware.AxesMiddleware"

VARIABLES = (
    "DJANGO_DEBUG",
    "DASHBOARD_DESIGNED_ERRORS",
    "DASHBOARD_REMOTE_USER_HEADER",
    "DASHBOARD_FRAME_ANCESTORS",
    "DASHBOARD_ORIGIN",
    "DJANGO_ALLOWED_HOSTS",
    "DASHBOARD_HTTPS",
    "DASHBOARD_LOG_FORMAT",
)


def settings_module_under(monkeypatch, **variables: str):
    """dashboard.settings as a fresh import reads these variables; the loaded one is kept."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_DEBUG", "1")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    loaded = {n: m for n, m in sys.modules.items() if n.startswith("dashboard.settings")}
    for name in loaded:
        del sys.modules[name]
    try:
        return importlib.import_module("dashboard.settings")
    finally:
        for name in [n for n in sys.modules if n.startswith("dashboard.settings")]:
            del sys.modules[name]
        sys.modules.update(loaded)


DEFAULT = [
    HEALTH,
    REQUEST_ID,
    SECURITY,
    WHITENOISE,
    CSP,
    SESSION,
    LOCALE,
    COMMON,
    CSRF,
    X_FRAME,
    AUTH,
    SIGNED_IN,
    OIDC_RECHECK,
    MESSAGES,
    HTMX,
    EMBEDDED,
    UPSTREAM_ERRORS,
    AXES,
]


def test_the_default_chain(monkeypatch):
    assert settings_module_under(monkeypatch).MIDDLEWARE == DEFAULT


def test_production_has_the_default_chain_and_no_designed_errors(monkeypatch):
    module = settings_module_under(
        monkeypatch, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50, DASHBOARD_DESIGNED_ERRORS="1"
    )
    assert module.MIDDLEWARE == DEFAULT


# fmt: off
CONDITIONS = {
    "designed errors": (
        {"DASHBOARD_DESIGNED_ERRORS": "1"},
        [HEALTH, REQUEST_ID, SECURITY, WHITENOISE, CSP, SESSION, LOCALE, COMMON, CSRF, X_FRAME,
         AUTH, SIGNED_IN, OIDC_RECHECK, MESSAGES, HTMX, EMBEDDED, DESIGNED_NOT_FOUND,
         UPSTREAM_ERRORS, AXES],
    ),
    "intranet sign-in": (
        {"DASHBOARD_REMOTE_USER_HEADER": "X-Forwarded-User"},
        [HEALTH, REQUEST_ID, SECURITY, WHITENOISE, CSP, SESSION, LOCALE, COMMON, CSRF, X_FRAME,
         AUTH, SIGNED_IN, REMOTE_USER, OIDC_RECHECK, MESSAGES, HTMX, EMBEDDED, UPSTREAM_ERRORS,
         AXES],
    ),
    # Framed by a page of the same site: X-Frame-Options goes, the cookies stay as they are.
    "framed by the same site": (
        {"DASHBOARD_FRAME_ANCESTORS": "http://localhost:9000"},
        [HEALTH, REQUEST_ID, SECURITY, WHITENOISE, CSP, SESSION, LOCALE, COMMON, CSRF, AUTH,
         SIGNED_IN, OIDC_RECHECK, MESSAGES, HTMX, EMBEDDED, UPSTREAM_ERRORS, AXES],
    ),
    "framed by another site": (
        {"DASHBOARD_FRAME_ANCESTORS": "https://intranet.example.org"},
        [HEALTH, REQUEST_ID, SECURITY, PARTITIONED, WHITENOISE, CSP, SESSION, LOCALE, COMMON, CSRF,
         AUTH, SIGNED_IN, OIDC_RECHECK, MESSAGES, HTMX, EMBEDDED, UPSTREAM_ERRORS, AXES],
    ),
    "all at once": (
        {
            "DASHBOARD_DESIGNED_ERRORS": "1",
            "DASHBOARD_REMOTE_USER_HEADER": "X-Forwarded-User",
            "DASHBOARD_FRAME_ANCESTORS": "https://intranet.example.org",
        },
        [HEALTH, REQUEST_ID, SECURITY, PARTITIONED, WHITENOISE, CSP, SESSION, LOCALE, COMMON, CSRF,
         AUTH, SIGNED_IN, REMOTE_USER, OIDC_RECHECK, MESSAGES, HTMX, EMBEDDED, DESIGNED_NOT_FOUND,
         UPSTREAM_ERRORS, AXES],
    ),
}
# fmt: on


@pytest.mark.parametrize(("variables", "expected"), CONDITIONS.values(), ids=CONDITIONS.keys())
def test_each_condition_puts_its_middleware_in_its_place(monkeypatch, variables, expected):
    middleware = settings_module_under(monkeypatch, **variables).MIDDLEWARE
    assert middleware == expected


def test_intranet_sign_in_adds_its_backend_after_the_others(monkeypatch):
    module = settings_module_under(monkeypatch, DASHBOARD_REMOTE_USER_HEADER="X-Forwarded-User")
    assert module.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
        "contacts.auth.IntranetRemoteUserBackend",
        "contacts.oidc.DashboardOIDC",
    ]


def test_the_loaded_settings_are_left_alone(monkeypatch, settings):
    before = sys.modules["dashboard.settings"]
    settings_module_under(monkeypatch, DASHBOARD_DESIGNED_ERRORS="1")
    assert sys.modules["dashboard.settings"] is before
    assert DESIGNED_NOT_FOUND not in settings.MIDDLEWARE
