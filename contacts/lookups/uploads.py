"""Upload bodies within a bound, before anything reads them.

Django spools an upload whole (to memory, then to a temporary file) before a view can look at
its size, so a 300 MB body sent straight to gunicorn was read and written to disk to be refused
as over 10 MB. `BoundedUploadHandler`, first in FILE_UPLOAD_HANDLERS, stops the upload at the
file's first chunk when the body's Content-Length is over the bound, and otherwise counts the
bytes as they come (a body's length may be absent or false), so at most about the bound is read.
Fields that come before the file (the CSRF token, the pasted list) are read as usual, so the
person gets the form back with the message; the rest of the body is left unread
(StopUpload(connection_reset=True)) and the server closes the connection after the answer.

The refusal is kept on the request for the view: `upload_refusal(request)`.
"""

import logging

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from contacts.lookups.input import LookupInputError, too_large

log = logging.getLogger(__name__)

REFUSAL_ATTRIBUTE = "upload_refusal"
# A body may carry the other fields too, within Django's own bound for them.
FIELDS_ALLOWANCE = 64 * 1024


def upload_max_bytes() -> int:
    """The largest file a request may carry (DASHBOARD_LOOKUP_FILE_MAX_MB)."""
    return int(settings.DASHBOARD_LOOKUP_FILE_MAX_MB * 1_000_000)


def body_max_bytes() -> int:
    """A body longer than this carries a file over the bound, whatever its other fields."""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return upload_max_bytes() + fields + FIELDS_ALLOWANCE


class BoundedUploadHandler(FileUploadHandler):
    """Refuses a file upload over the bound, by the body's length or by the bytes received."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.body_length: int | None = None
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.body_length = content_length
        return None  # the parser reads on; the bound is applied from the first file on

    def new_file(self, field_name: str, file_name: str, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if self.body_length is not None and self.body_length > body_max_bytes():
            self._refuse(f"a body of {self.body_length} bytes declared")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)  # across every file of the request
        if self.received > upload_max_bytes():
            self._refuse(f"over {upload_max_bytes()} bytes received")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler keeps the file

    def _refuse(self, why: str) -> None:
        log.info("upload refused before reading on: %s", why)
        error = too_large(self.file_name or "", upload_max_bytes())
        if self.request is not None:
            setattr(self.request, REFUSAL_ATTRIBUTE, error)
        # Not read on, so not drained either: the server closes the connection after the answer.
        raise StopUpload(connection_reset=True)


def upload_refusal(request: HttpRequest) -> LookupInputError | None:
    """The refusal of the request's upload, if its file was over the bound."""
    request.FILES  # noqa: B018 - parses the body, if nothing has yet
    return getattr(request, REFUSAL_ATTRIBUTE, None)
