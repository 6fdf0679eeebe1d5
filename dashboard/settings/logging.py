"""Logging: one plain line per record on the console, with the request id it was written for."""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {
        "forbidden_one_line": {"()": "contacts.log.ForbiddenWithoutTraceback"},
        "request_id": {"()": "contacts.log.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
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
