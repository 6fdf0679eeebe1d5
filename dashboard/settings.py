"""Settings for the contacts dashboard.

Every value an operator may change comes from an environment variable (or a `.env` file in the
project root); the names are part of the dashboard's contract with operators, see README.md.
"""

import json
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from contacts.sites import any_cross_site

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over the file, so `make run` and CI can override it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: a forgotten variable must fail closed (make run and make test ask).
DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-never-deployed"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if not DEBUG else _DEV_SECRET_KEY)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    # It is in the repository: sessions and password-reset tokens signed with it can be forged.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the development value, which is public: set a secret one."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "contacts",
]

MIDDLEWARE = [
    # First: load balancers' probes are answered before host checks, redirects and sessions.
    "contacts.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "contacts.middleware.EmbeddedMiddleware",
    "contacts.middleware.UpstreamErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# `make run` sets DASHBOARD_DESIGNED_ERRORS=1: its 404 pages are the designed ones, as in
# production, though DEBUG is on.
if DEBUG and env.bool("DASHBOARD_DESIGNED_ERRORS", default=False):
    MIDDLEWARE.insert(
        MIDDLEWARE.index("contacts.middleware.UpstreamErrorMiddleware"),
        "contacts.middleware.DesignedNotFoundMiddleware",
    )

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "contacts.middleware.embedded",
            ],
        },
    },
]

# Users, memberships and audit events only: contacts are never stored here.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool per process instead of a connection kept by every thread: at most
    # DATABASE_POOL_SIZE connections per gunicorn worker (default: its thread count, since a
    # page holds its connection while it waits for Contactship), opened when needed and closed
    # after DATABASE_POOL_IDLE seconds unused; a request waits up to DATABASE_POOL_TIMEOUT.
    # PostgreSQL's max_connections must exceed replicas × workers × DATABASE_POOL_SIZE (README:
    # connection budget). Pooled connections go back at the end of each request: no CONN_MAX_AGE.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=env.int("GUNICORN_THREADS", default=8)),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        "max_idle": env.float("DATABASE_POOL_IDLE", default=300.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # Writes take SQLite's lock when their transaction starts and wait for it, rather than
        # failing with "database is locked" when two requests (two column choices, a login and
        # an audit event) upgrade their read locks at once.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"transaction_mode": "IMMEDIATE", "timeout": 20}
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Shared by every replica: cached pages, circuit breakers, upstream call slots, sessions.
    CACHES = {
        "default": {
            # Django's RedisCache, answering as a miss would while Redis does not answer.
            "BACKEND": "contacts.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dashboard",
            # A Redis that stops answering must not hold a request longer than this.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions in the cache for speed (no query per page) and in the database so that a Redis restart
# logs nobody out (and, with the cache above, so that a Redis outage does not either): Django's
# cached_db, carrying on with the database alone when the cache fails.
SESSION_ENGINE = "contacts.sessions"
# After a failed Redis call, this process stops asking Redis for this many seconds, then tries one.
DASHBOARD_CACHE_RETRY_SECONDS = env.float("DASHBOARD_CACHE_RETRY_SECONDS", default=5.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in ----------------------------------------------------------------------------------
# Sessions end this long after login (a working day by default). Not extended on every request:
# that would write the session on every page view.
SESSION_COOKIE_AGE = env.int("DASHBOARD_SESSION_AGE", default=8 * 60 * 60)

AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: it refuses a locked-out username/address before any check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
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
DASHBOARD_REMOTE_USER_HEADER = env.str("DASHBOARD_REMOTE_USER_HEADER", default="")
if DASHBOARD_REMOTE_USER_HEADER:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "contacts.auth.IntranetRemoteUserMiddleware",
    )
    AUTHENTICATION_BACKENDS.append("contacts.auth.IntranetRemoteUserBackend")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production WhiteNoise serves compressed files under content-hashed names, cached for a
    # year; `collectstatic` must run before the server starts (make serve does).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- HTTPS, cookies and framing ---------------------------------------------------------------
# A form that comes back without its CSRF cookie (mostly a frame whose cookies the browser
# blocks) gets a page that says why and offers the dashboard in a tab of its own.
CSRF_FAILURE_VIEW = "contacts.views.errors.csrf_failure"
DASHBOARD_HTTPS = env.bool("DASHBOARD_HTTPS", default=not DEBUG)
if DASHBOARD_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
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
    # ...and Partitioned (CHIPS): a browser that blocks third-party cookies still keeps these,
    # in a jar of their own for this intranet site (Django has no setting for it).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "contacts.middleware.PartitionedCookieMiddleware",
    )
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
    # Old browsers ignore CSP frame-ancestors; they still honour X-Frame-Options.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware") + 1,
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    )
    X_FRAME_OPTIONS = "DENY"

# --- Contactship ------------------------------------------------------------------------------
CONTACTSHIP_API_URL = env.str("CONTACTSHIP_API_URL", default="https://api.contactship.ai/v1")

try:
    CONTACTSHIP_ORGANISATIONS = json.loads(env.str("CONTACTSHIP_ORGANISATIONS", default="{}"))
except json.JSONDecodeError as exc:
    # The message names the position only: the variable holds API keys.
    raise ImproperlyConfigured(
        f"CONTACTSHIP_ORGANISATIONS is not valid JSON (line {exc.lineno}, column {exc.colno})."
    ) from None

# `make manage` (DASHBOARD_DEMO=1, development only): the organisations, keys and API of the last
# `make run`, which keeps them in .demo-run.json, so that manage.py commands (add_member,
# export_contacts...) work against the demo as the README shows them.
if DEBUG and env.bool("DASHBOARD_DEMO", default=False) and "CONTACTSHIP_ORGANISATIONS" not in env:
    try:
        _demo = json.loads((BASE_DIR / ".demo-run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ImproperlyConfigured(
            "DASHBOARD_DEMO=1 needs the demo's settings: run `make run` once first."
        ) from None
    CONTACTSHIP_ORGANISATIONS = _demo.get("organisations") or {}
    CONTACTSHIP_API_URL = _demo.get("api_url") or CONTACTSHIP_API_URL

# (connect, read) timeouts of one attempt, and the total time one page view may spend upstream,
# retries included. Keep the deadline below the WSGI server's worker timeout.
CONTACTSHIP_CONNECT_TIMEOUT = env.float("CONTACTSHIP_CONNECT_TIMEOUT", default=3.05)
CONTACTSHIP_READ_TIMEOUT = env.float("CONTACTSHIP_READ_TIMEOUT", default=10.0)
CONTACTSHIP_DEADLINE = env.float("CONTACTSHIP_DEADLINE", default=20.0)
CONTACTSHIP_RETRIES = env.int("CONTACTSHIP_RETRIES", default=2)
# Retries of one page of a scan (summaries, exports) or one value of a bulk lookup, 500s included,
# within the deadline: a 600-page result at 5% errors must not fail on one unlucky page.
CONTACTSHIP_SCAN_RETRIES = env.int("CONTACTSHIP_SCAN_RETRIES", default=4)
CONTACTSHIP_BACKOFF = env.float("CONTACTSHIP_BACKOFF", default=0.25)
CONTACTSHIP_RETRY_AFTER_CAP = env.float("CONTACTSHIP_RETRY_AFTER_CAP", default=5.0)
CONTACTSHIP_POOL_SIZE = env.int("CONTACTSHIP_POOL_SIZE", default=16)
# Calls in flight to Contactship per organisation, across all replicas when REDIS_URL is set, so
# that a few large exports cannot exhaust the API for everyone else. 0: no limit.
CONTACTSHIP_MAX_CONCURRENT_CALLS = env.int("CONTACTSHIP_MAX_CONCURRENT_CALLS", default=8)
# The API documents no paging parameters; these are the names the dashboard sends.
CONTACTSHIP_PAGE_SIZE = env.int("CONTACTSHIP_PAGE_SIZE", default=100)
CONTACTSHIP_LIMIT_PARAM = env.str("CONTACTSHIP_LIMIT_PARAM", default="limit")
CONTACTSHIP_OFFSET_PARAM = env.str("CONTACTSHIP_OFFSET_PARAM", default="offset")
CONTACTSHIP_MAX_EXPORT_PAGES = env.int("CONTACTSHIP_MAX_EXPORT_PAGES", default=2000)
# A scan (an export walking every page) adapts its calls in flight to the upstream's answers,
# starting at CONTACTSHIP_SCAN_CALLS_START, never above CONTACTSHIP_SCAN_CALLS_MAX nor above
# CONTACTSHIP_MAX_CONCURRENT_CALLS less CONTACTSHIP_RESERVED_CALLS, the slots kept for page views.
CONTACTSHIP_SCAN_CALLS_START = env.int("CONTACTSHIP_SCAN_CALLS_START", default=2)
CONTACTSHIP_SCAN_CALLS_MAX = env.int("CONTACTSHIP_SCAN_CALLS_MAX", default=16)
CONTACTSHIP_RESERVED_CALLS = env.int("CONTACTSHIP_RESERVED_CALLS", default=2)
CONTACTSHIP_CACHE_TTL = env.int("CONTACTSHIP_CACHE_TTL", default=60)
# An answer larger than this is refused as unexpected (a page of 100 contacts is ~40 KB), and one
# larger than CONTACTSHIP_CACHE_MAX_BYTES is not cached.
CONTACTSHIP_MAX_BODY_BYTES = env.int("CONTACTSHIP_MAX_BODY_BYTES", default=2 * 1024 * 1024)
CONTACTSHIP_CACHE_MAX_BYTES = env.int("CONTACTSHIP_CACHE_MAX_BYTES", default=512 * 1024)
# Seconds one search page with the dashboard's own filters (country, dates, email domain) reads
# Contactship's pages before it shows what it found and offers to continue.
DASHBOARD_FILTER_PAGE_SECONDS = env.float("DASHBOARD_FILTER_PAGE_SECONDS", default=5.0)
# How long a member's rights (memberships, column choices) stay cached; every change through the
# dashboard, the admin or a command deletes the copy at once (see contacts.access).
DASHBOARD_ACCESS_CACHE_SECONDS = env.int("DASHBOARD_ACCESS_CACHE_SECONDS", default=60)
CONTACTSHIP_BREAKER_THRESHOLD = env.int("CONTACTSHIP_BREAKER_THRESHOLD", default=5)
CONTACTSHIP_BREAKER_COOLDOWN = env.float("CONTACTSHIP_BREAKER_COOLDOWN", default=30.0)
# Bulk lookup: the most values one list may hold (refused with 400 before any call), and the
# largest file it reads, in megabytes.
DASHBOARD_LOOKUP_MAX = env.int("DASHBOARD_LOOKUP_MAX", default=5000)
DASHBOARD_LOOKUP_FILE_MAX_MB = env.float("DASHBOARD_LOOKUP_FILE_MAX_MB", default=10.0)
# Reading a lookup file stops (413) after DASHBOARD_LOOKUP_READ_SECONDS, and a workbook once its
# parts unpack to more than DASHBOARD_LOOKUP_UNPACKED_MAX_MB: a small file may declare anything.
DASHBOARD_LOOKUP_READ_SECONDS = env.float("DASHBOARD_LOOKUP_READ_SECONDS", default=5.0)
DASHBOARD_LOOKUP_UNPACKED_MAX_MB = env.float("DASHBOARD_LOOKUP_UNPACKED_MAX_MB", default=50.0)
# Uploads go to a temporary file, never to memory, and stop being read once over
# DASHBOARD_LOOKUP_FILE_MAX_MB (contacts/uploads.py), under gunicorn alone as behind nginx.
FILE_UPLOAD_HANDLERS = [
    "contacts.lookups.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Exports at once: per user (across replicas with Redis) and per process, below the process's
# threads (dashboard/gunicorn.py: 8) so that page views always find one. 0: no limit. A download
# is aborted after DASHBOARD_EXPORT_MAX_SECONDS, and under gunicorn when one send to the client
# waits longer than DASHBOARD_EXPORT_SEND_TIMEOUT (a reader that stopped reading).
DASHBOARD_EXPORTS_PER_USER = env.int("DASHBOARD_EXPORTS_PER_USER", default=2)
DASHBOARD_EXPORTS_PER_PROCESS = env.int("DASHBOARD_EXPORTS_PER_PROCESS", default=4)
DASHBOARD_EXPORT_MAX_SECONDS = env.float("DASHBOARD_EXPORT_MAX_SECONDS", default=1800.0)
DASHBOARD_EXPORT_SEND_TIMEOUT = env.float("DASHBOARD_EXPORT_SEND_TIMEOUT", default=60.0)
# Summaries being counted (the page and summary.json; a cached one takes none) and bulk lookups
# shown on the page (their files are exports), bounded the same way.
DASHBOARD_SUMMARIES_PER_USER = env.int("DASHBOARD_SUMMARIES_PER_USER", default=2)
DASHBOARD_SUMMARIES_PER_PROCESS = env.int("DASHBOARD_SUMMARIES_PER_PROCESS", default=2)
DASHBOARD_LOOKUPS_PER_USER = env.int("DASHBOARD_LOOKUPS_PER_USER", default=2)
DASHBOARD_LOOKUPS_PER_PROCESS = env.int("DASHBOARD_LOOKUPS_PER_PROCESS", default=2)
# Exports, summaries and lookups of one process together: two threads fewer than gunicorn's
# (GUNICORN_THREADS, 8), so that the login page, /healthz and searches always find one.
DASHBOARD_PLACES_PER_PROCESS = env.int(
    "DASHBOARD_PLACES_PER_PROCESS", default=max(1, env.int("GUNICORN_THREADS", default=8) - 2)
)
# How long a place outlives a replica that died holding it, or a release lost while Redis did
# not answer; a running request renews its place every third of it.
DASHBOARD_PLACE_HOLD_SECONDS = env.float("DASHBOARD_PLACE_HOLD_SECONDS", default=60.0)

# Django's password-reset pages (they e-mail a link: set EMAIL_* too). Off unless asked for.
DASHBOARD_PASSWORD_RESET = env.bool("DASHBOARD_PASSWORD_RESET", default=False)

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {
        "forbidden_one_line": {"()": "contacts.log.ForbiddenWithoutTraceback"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Propagates to the root handler (and so to pytest's caplog).
        "contacts": {"level": "INFO"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # A 403 as one line, without the PermissionDenied traceback.
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}
