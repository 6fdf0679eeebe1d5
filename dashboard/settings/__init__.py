"""Settings for the contacts dashboard (`DJANGO_SETTINGS_MODULE=dashboard.settings`).

One module per concern, read in this order (a later part may use an earlier one's values):
`base` (Django itself: key, apps, templates, database, cache and sessions, i18n, static files),
`security` (sign-in, hosts, HTTPS, cookies, CSP and framing, trusted proxies), `contactship` (the
API, its organisations, the dashboard's limits), `oidc` (the identity provider and memberships
from groups) and `logging`. The middleware, which depends on
several of them, is written out here. `test` is the test suite's module.

Every value an operator may change comes from an environment variable (or a `.env` file in the
project root); the names are part of the dashboard's contract with operators, see
docs/admins/configuration.md.
"""

import os

# The test suite's module (dashboard.settings.test) runs in development mode unless the
# environment says otherwise. Python imports this package before any module inside it, so the
# default is set here, before `base` reads DJANGO_DEBUG.
if os.environ.get("DJANGO_SETTINGS_MODULE") == f"{__name__}.test":
    os.environ.setdefault("DJANGO_DEBUG", "1")

# The order is the reading order above, not the alphabet's.
# isort: off
from .base import *
from .base import DEBUG, env
from .security import *
from .security import (
    DASHBOARD_FRAME_ANCESTORS,
    DASHBOARD_FRAMED_CROSS_SITE,
    DASHBOARD_REMOTE_USER_HEADER,
)
from .contactship import *
from .oidc import *
from .logging import *
# isort: on

# Sign-in with the identity provider: its backend answers only its own callback, and does
# nothing while DASHBOARD_OIDC_ISSUER is unset.
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "contacts.oidc.DashboardOIDC"]

# `make run` sets DASHBOARD_DESIGNED_ERRORS=1: its 404 pages are the designed ones, as in
# production, though DEBUG is on.
_designed_errors = DEBUG and env.bool("DASHBOARD_DESIGNED_ERRORS", default=False)


def _when(condition: bool, middleware: str) -> list[str]:
    return [middleware] if condition else []


# The whole chain, in order; an entry under `_when` is there only under its condition.
MIDDLEWARE = [
    # First: load balancers' probes are answered before host checks, redirects and sessions.
    "contacts.health.HealthCheckMiddleware",
    # Then the request id, so that every line the request leaves and every answer carries it.
    "contacts.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Framed by another site: the session, CSRF and language cookies are also Partitioned.
    *_when(DASHBOARD_FRAMED_CROSS_SITE, "contacts.middleware.PartitionedCookieMiddleware"),
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # No frame ancestor allowed: X-Frame-Options: DENY too, for browsers that ignore CSP's.
    *_when(not DASHBOARD_FRAME_ANCESTORS, "django.middleware.clickjacking.XFrameOptionsMiddleware"),
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user read from the cache when it can, not from the database each time.
    "contacts.signed_in.SignedInUserMiddleware",
    # Intranet sign-in: the user named by the trusted proxy's header, after the session's.
    *_when(bool(DASHBOARD_REMOTE_USER_HEADER), "contacts.auth.IntranetRemoteUserMiddleware"),
    # Signed in with the identity provider: the groups asked for again now and then (nothing
    # for anyone signed in otherwise).
    "contacts.middleware.OIDCRecheckMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "contacts.middleware.EmbeddedMiddleware",
    # `make run`: the designed "Page not found" page though DEBUG is on.
    *_when(_designed_errors, "contacts.middleware.DesignedNotFoundMiddleware"),
    "contacts.middleware.UpstreamErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]
