"""The one way a download is answered: a search export, a bulk lookup's file or its stream.

`download` takes the download's place (429 when none is free), lets the caller refuse what it
was sent once the place is held, starts the bytes (an upstream failure until the first byte is
an error page), records the progress the page shows, bounds how long the response may take,
and answers with the format's headers. The bytes come from the caller's `start`, which also
writes the audit record (`DownloadRecord`) through the service it calls.
"""

import re
from collections.abc import Callable, Iterator, Mapping

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

# How a search's parameters are named in a file name; any other parameter by its own name.
FILENAME_LABELS = {
    "full_name": "name",
    "phone_number": "phone",
    "email_domain": "domain",
    "created_from": "since",
    "created_to": "until",
}
MAX_FILENAME = 100  # characters, the extension included
MAX_NAME_PART = 30  # characters of the organisation's name, and of each search value
NAME_STAMP = "%Y-%m-%d-%H%M"
NOT_WORD = re.compile(r"[^\w-]+")


def _slug(text: str, limit: int) -> str:
    """ASCII letters, digits and hyphens, at most `limit` characters, cut at a hyphen when one
    is near the end (accents dropped: "España" becomes "espana")."""
    slug = slugify(NOT_WORD.sub(" ", text))  # "ana@tejo.es": "ana-tejo-es", not "anatejoes"
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    return (cut.rsplit("-", 1)[0] if "-" in cut[limit // 2 :] else cut).strip("-")


def search_words(params: Mapping[str, str]) -> str:
    """A search's values as words for a file name: `country-espana-since-2024-01-01`. A value
    with nothing to slug (another script) leaves out its parameter."""
    words = []
    for name, value in params.items():
        slug = _slug(str(value), MAX_NAME_PART)
        if slug:
            words.append(f"{FILENAME_LABELS.get(name, slugify(name))}-{slug}")
    return "-".join(words)


def download_filename(
    prefix: str,
    organisation_name: str,
    fmt: ExportFormat,
    *,
    fallback: str,
    search: Mapping[str, str] | None = None,
) -> str:
    """`<prefix>-<organisation>[-<search>]-<date>-<hhmm>.<extension>`: the organisation, the
    search's values (`search_words`), and the time in the current time zone, so that two
    downloads of one day have two names. ASCII only and at most MAX_FILENAME characters: the
    search's words are cut (at a hyphen) to fit. `fallback` for an organisation whose name
    leaves nothing to put in a file name."""
    name = _slug(organisation_name, MAX_NAME_PART) or fallback
    stamp = timezone.localtime().strftime(NAME_STAMP)
    head, tail = f"{prefix}-{name}", f"-{stamp}.{fmt.extension}"
    words = _slug(search_words(search or {}), MAX_FILENAME - len(head) - len(tail) - 1)
    return f"{head}-{words}{tail}" if words else f"{head}{tail}"


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
