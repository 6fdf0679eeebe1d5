"""The Contactship API, its organisations, and the limits on what the dashboard asks of it."""

import json

from django.core.exceptions import ImproperlyConfigured

from .base import BASE_DIR, DEBUG, env

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
# export_contacts...) work against the demo as the documentation shows them.
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
