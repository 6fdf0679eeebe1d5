"""Settings for the contacts dashboard.

Every value an operator may change comes from an environment variable (or a `.env` file in the
project root); the names are part of the dashboard's contract with operators, see README.md.
"""

import json
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over the file, so `make run` and CI can override it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-development-only-never-deployed"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if not DEBUG else _DEV_SECRET_KEY)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_tables2",
    "contacts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "contacts.middleware.UpstreamErrorMiddleware",
]

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
            ],
        },
    },
]

# Users, memberships and audit events only: contacts are never stored here.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dashboard",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- HTTPS, cookies and framing ---------------------------------------------------------------
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
if not DASHBOARD_FRAME_ANCESTORS:
    # Old browsers ignore CSP frame-ancestors; they still honour X-Frame-Options.
    MIDDLEWARE.append("django.middleware.clickjacking.XFrameOptionsMiddleware")
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

# (connect, read) timeouts of one attempt, and the total time one page view may spend upstream,
# retries included. Keep the deadline below the WSGI server's worker timeout.
CONTACTSHIP_CONNECT_TIMEOUT = env.float("CONTACTSHIP_CONNECT_TIMEOUT", default=3.05)
CONTACTSHIP_READ_TIMEOUT = env.float("CONTACTSHIP_READ_TIMEOUT", default=10.0)
CONTACTSHIP_DEADLINE = env.float("CONTACTSHIP_DEADLINE", default=20.0)
CONTACTSHIP_RETRIES = env.int("CONTACTSHIP_RETRIES", default=2)
CONTACTSHIP_BACKOFF = env.float("CONTACTSHIP_BACKOFF", default=0.25)
CONTACTSHIP_RETRY_AFTER_CAP = env.float("CONTACTSHIP_RETRY_AFTER_CAP", default=5.0)
CONTACTSHIP_POOL_SIZE = env.int("CONTACTSHIP_POOL_SIZE", default=16)
# The API documents no paging parameters; these are the names the dashboard sends.
CONTACTSHIP_PAGE_SIZE = env.int("CONTACTSHIP_PAGE_SIZE", default=100)
CONTACTSHIP_LIMIT_PARAM = env.str("CONTACTSHIP_LIMIT_PARAM", default="limit")
CONTACTSHIP_OFFSET_PARAM = env.str("CONTACTSHIP_OFFSET_PARAM", default="offset")
CONTACTSHIP_MAX_EXPORT_PAGES = env.int("CONTACTSHIP_MAX_EXPORT_PAGES", default=2000)
CONTACTSHIP_CACHE_TTL = env.int("CONTACTSHIP_CACHE_TTL", default=60)
CONTACTSHIP_BREAKER_THRESHOLD = env.int("CONTACTSHIP_BREAKER_THRESHOLD", default=5)
CONTACTSHIP_BREAKER_COOLDOWN = env.float("CONTACTSHIP_BREAKER_COOLDOWN", default=30.0)

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Propagates to the root handler (and so to pytest's caplog).
        "contacts": {"level": "INFO"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
