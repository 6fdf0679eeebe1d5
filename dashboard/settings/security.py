"""Who may sign in and how, hosts, HTTPS, cookies, the Content-Security-Policy and framing."""

from datetime import timedelta
from ipaddress import ip_network

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from contacts.sites import any_cross_site

from .base import DEBUG, env

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- Sign-in ----------------------------------------------------------------------------------
# Sessions end this long after login (a working day by default). Not extended on every request:
# that would write the session on every page view.
SESSION_COOKIE_AGE = env.int("DASHBOARD_SESSION_AGE", default=8 * 60 * 60)

# Addresses or networks (comma-separated) of the reverse proxies in front of the dashboard. From
# them, and only from them, X-Forwarded-For names the client (contacts.proxy) and the intranet
# sign-in header is believed. Empty: no proxy is trusted, REMOTE_ADDR is the client.
DASHBOARD_TRUSTED_PROXIES = env.list("DASHBOARD_TRUSTED_PROXIES", default=[])
try:
    for _proxy in DASHBOARD_TRUSTED_PROXIES:
        ip_network(_proxy, strict=False)
except ValueError as exc:
    raise ImproperlyConfigured(f"DASHBOARD_TRUSTED_PROXIES: {exc}") from None

# Password logins are throttled per username and address: after this many failures, locked for
# the cool-off. The address is the real client's behind a trusted proxy (django-axes asks
# contacts.proxy, as the audit does), so one client cannot lock out everyone behind the proxy.
AXES_FAILURE_LIMIT = env.int("DASHBOARD_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("DASHBOARD_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "contacts.proxy.client_address"

# Intranet sign-in: the reverse proxy in front of the dashboard names the signed-in user in this
# header (e.g. X-Forwarded-User). Off unless set. The proxy MUST strip the header from clients.
# Its middleware follows Django's AuthenticationMiddleware (MIDDLEWARE, in __init__.py).
DASHBOARD_REMOTE_USER_HEADER = env.str("DASHBOARD_REMOTE_USER_HEADER", default="")
# ...and the person's groups in this one (comma-separated, e.g. X-Forwarded-Groups), believed on
# the same terms; they grant memberships through DASHBOARD_GROUP_MEMBERSHIPS (settings.oidc).
DASHBOARD_REMOTE_GROUPS_HEADER = env.str("DASHBOARD_REMOTE_GROUPS_HEADER", default="")
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: it refuses a locked-out username/address before any check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    *(["contacts.auth.IntranetRemoteUserBackend"] if DASHBOARD_REMOTE_USER_HEADER else []),
]

# `/metrics` answers only `Authorization: Bearer <this>`; unset, it is a 404 for everyone.
DASHBOARD_METRICS_TOKEN = env.str("DASHBOARD_METRICS_TOKEN", default="")

# --- HTTPS, cookies and framing ---------------------------------------------------------------
# A form that comes back without its CSRF cookie (mostly a frame whose cookies the browser
# blocks) gets a page that says why and offers the dashboard in a tab of its own.
CSRF_FAILURE_VIEW = "contacts.views.errors.csrf_failure"
DASHBOARD_HTTPS = env.bool("DASHBOARD_HTTPS", default=not DEBUG)
if DASHBOARD_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Prometheus scrapes each replica at its own address on the private network, in plain HTTP
    # like the proxy's own hop to it (docs/admins/monitoring.md): a redirect to https would end it.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The TLS proxy in front of the dashboard must set this header (and strip it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

DASHBOARD_FRAME_ANCESTORS = env.str("DASHBOARD_FRAME_ANCESTORS", default="").split()

# The origin browsers see the dashboard at (e.g. https://contacts.example.com). It states which
# site the dashboard is on, to decide whether framing by DASHBOARD_FRAME_ANCESTORS is cross-site;
# unset, every name in DJANGO_ALLOWED_HOSTS counts, with the scheme DASHBOARD_HTTPS implies.
DASHBOARD_ORIGIN = env.str("DASHBOARD_ORIGIN", default="").rstrip("/")
_own_origins = (
    [DASHBOARD_ORIGIN]
    if DASHBOARD_ORIGIN
    else [
        f"{'https' if DASHBOARD_HTTPS else 'http'}://{host.lstrip('.')}"
        for host in ALLOWED_HOSTS
        if host.lstrip(".") and host != "*"
    ]
)
# Same site as browsers decide it: scheme and registrable domain (contacts.sites).
DASHBOARD_FRAMED_CROSS_SITE = bool(DASHBOARD_FRAME_ANCESTORS) and any_cross_site(
    DASHBOARD_FRAME_ANCESTORS, _own_origins
)
if DASHBOARD_FRAMED_CROSS_SITE:
    # A browser sends cookies to a framed page of another site only when they are
    # SameSite=None, and accepts SameSite=None only on Secure cookies: so HTTPS is required.
    SESSION_COOKIE_SAMESITE = "None"
    CSRF_COOKIE_SAMESITE = "None"
    LANGUAGE_COOKIE_SAMESITE = "None"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    # ...and Partitioned (CHIPS), by contacts.middleware.PartitionedCookieMiddleware (MIDDLEWARE,
    # in __init__.py): a browser that blocks third-party cookies still keeps these, in a jar of
    # their own for this intranet site (Django has no setting for it).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-ancestors": DASHBOARD_FRAME_ANCESTORS or [CSP.NONE],
}
# HSTS preload (security.W021) commits the whole registrable domain, every host of the company,
# to HTTPS in browsers for months: a decision for whoever runs the domain, not for one app.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if DASHBOARD_FRAME_ANCESTORS:
    # X-Frame-Options cannot name the allowed origins; CSP frame-ancestors above does. Without
    # the middleware `check --deploy` warns (security.W002): silenced because framing by the
    # listed origins is what the operator asked for, and frame-ancestors still forbids the rest.
    SILENCED_SYSTEM_CHECKS.append("security.W002")
else:
    # Old browsers ignore CSP frame-ancestors; they still honour X-Frame-Options (its middleware
    # is in MIDDLEWARE, in __init__.py, when no frame ancestor is allowed).
    X_FRAME_OPTIONS = "DENY"

# Django's password-reset pages (they e-mail a link: set EMAIL_* too). Off unless asked for.
DASHBOARD_PASSWORD_RESET = env.bool("DASHBOARD_PASSWORD_RESET", default=False)
