"""The one way a download is answered: a search export, a bulk lookup's file or its stream.

`download` takes the download's place (429 when none is free), lets the caller refuse what it
was sent once the place is held, starts the bytes (an upstream failure until the first byte is
an error page), records the progress the page shows, bounds how long the response may take,
and answers with the format's headers. The bytes come from the caller's `start`, which also
writes the audit record (`DownloadRecord`) through the service it calls.
"""

from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from contacts import metrics
from contacts.errors import error_response
from contacts.exports import progress as export_progress
from contacts.exports.formats import ExportFormat
from contacts.exports.limits import LimitedStream, bound_send_time
from contacts.places import EXPORT, Place, take_place
from contacts.upstream.errors import PlacesBusy


def download_filename(
    prefix: str, organisation_name: str, fmt: ExportFormat, *, fallback: str
) -> str:
    """`<prefix>-<organisation>-<today>.<extension>`, today in the current time zone;
    `fallback` for a name that leaves nothing to put in a file name."""
    name = slugify(organisation_name) or fallback
    return f"{prefix}-{name}-{timezone.localdate().isoformat()}.{fmt.extension}"


def download(
    request: HttpRequest,
    *,
    fmt: ExportFormat,
    start: Callable[[], Iterator[bytes]],
    filename: str = "",
    place: str = EXPORT,
    admit: Callable[[Place], HttpResponse | None] | None = None,
    progress: export_progress.ProgressTracker | None = None,
    lookup: bool = False,
) -> HttpResponse:
    """Answer `request` with the bytes `start()` gives, as `fmt`.

    `filename`: saved as that file ("" for a stream the page's script reads). `place`: the kind
    of place the download holds while it runs. `admit(place)`: once the place is held, a
    response refusing the request, or None to go on (the place then goes back by itself).
    `progress`: the page's counters, recorded as the download goes. `lookup`: a bulk
    lookup's download, counted as a lookup (not an export) in the metrics when refused.
    """
    try:
        held = take_place(place, str(request.user.pk))
    except PlacesBusy as busy:
        if lookup:
            metrics.count_lookup(metrics.REFUSED)
        else:
            metrics.count_export(fmt.name, metrics.REFUSED)
        return error_response(request, busy)
    try:
        if admit is not None and (refused := admit(held)) is not None:
            held.release()
            return refused
        if progress is not None:
            # Recorded only once the download has its place, so that refused ones leave no
            # key behind.
            progress.start()
        chunks = start()
        if progress is not None:
            chunks = export_progress.watch(chunks, progress)
        if fmt.built_first:
            # Its bytes only come when the file is complete: a failure until then becomes an
            # error page (a failed download, from the search page) rather than the server's
            # bare 500.
            chunks = export_progress.started(chunks)
    except BaseException:
        held.release()
        raise
    bound_send_time(request)
    stream = LimitedStream(chunks, held, max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS)
    response = StreamingHttpResponse(stream, content_type=fmt.content_type)
    if filename:
        response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    # Proxies such as nginx would otherwise buffer the whole file before sending a byte.
    response["X-Accel-Buffering"] = "no"
    return response
