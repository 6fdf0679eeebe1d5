"""Logging filters for the operator's log."""

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is an everyday answer (a colleague following a link to another organisation), not
    an error: Django logs it with the PermissionDenied's traceback; keep its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
