"""Django's own settings: the key, apps, templates, database, cache and sessions, i18n, static.

Every value an operator may change comes from an environment variable (or a `.env` file in the
project root); the names are part of the dashboard's contract with operators, see
docs/admins/configuration.md.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    # OpenID Connect sign-in: the identities (issuer and subject) and the flow's nonces.
    "social_django",
    "contacts",
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
    # PostgreSQL's max_connections must exceed replicas × workers × DATABASE_POOL_SIZE
    # (docs/admins/replicas.md, connection budget). Pooled connections go back at the end of each
    # request: no CONN_MAX_AGE.
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

LANGUAGE_CODE = "en"
# Each named in its own language, as the switch shows it; short, so that the header stays one
# row on a phone ("Português": Brazilian Portuguese is the only Portuguese offered).
LANGUAGES = [("en", "English"), ("es", "Español"), ("pt-br", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Where a language's dates read better than Django's own (dashboard/formats/<locale>/formats.py).
FORMAT_MODULE_PATH = ["dashboard.formats"]
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
