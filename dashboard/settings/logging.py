"""Logging: one line per record on the console, with the request id it was written for.

DASHBOARD_LOG_FORMAT=json (the default with DJANGO_DEBUG=0) writes each line as one JSON object
(`contacts.log.JsonFormatter`, which gunicorn's own lines use too: dashboard/gunicorn.py);
`text` (the default with DJANGO_DEBUG=1, as under `make run`) a plain line.
"""

from contacts.log import log_format

from .base import DEBUG, env

DASHBOARD_LOG_FORMAT = log_format(env.str("DASHBOARD_LOG_FORMAT", default=""), debug=DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "contacts.log.JsonFormatter"},
    },
    "filters": {
        "forbidden_one_line": {"()": "contacts.log.ForbiddenWithoutTraceback"},
        "request_id": {"()": "contacts.log.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": DASHBOARD_LOG_FORMAT,
            "filters": ["request_id"],
        },
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
