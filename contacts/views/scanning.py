"""A page counted while you watch (the summary, the duplicates): the page's head, a progress line
per scanned page, then the result, streamed.

The caller has asked for the first page of contacts before a byte is sent (so an upstream that
is down becomes an error page with its status) and holds a place for the scan. Leaving the page
closes the connection, which closes the stream and with it the scan. A failure during the scan
is too late for an error page: the page says it in words (`FAILED`, with the page's context).
"""

import logging
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import translation

from contacts.exports.limits import LimitedStream, bound_send_time
from contacts.exports.streaming import primed
from contacts.middleware import log_error_shown
from contacts.places import Place
from contacts.upstream.errors import DashboardError

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25  # seconds between progress lines on the page
SPLIT = "<!--summary-body-->"  # where the page's head ends and the streamed part goes
FAILED = "contacts/summary_failed.html"  # a failure during the scan, in the page's words


class ScanRun[P](Protocol):
    organisation: object

    def steps(self) -> Iterator[P]: ...

    def close(self) -> None: ...


@primed
def _stream[P](
    request: HttpRequest,
    run: ScanRun[P],
    page: str,
    *,
    what: str,
    progress_line: Callable[[P], str],
    result: Callable[[], str],
    context: dict,
) -> Iterator[str | None]:
    language = translation.get_language()
    org_id = run.organisation.id
    head, _, tail = page.partition(SPLIT)
    try:
        yield  # primed: a page left before its first byte still ends the scan
        with translation.override(language):
            yield head
            last = 0.0
            steps = run.steps()
            try:
                for progress in steps:
                    now = time.monotonic()
                    if now - last >= PROGRESS_EVERY:
                        last = now
                        yield progress_line(progress)
            except GeneratorExit:
                log.info("%s cancelled org=%s", what, org_id)
                raise
            except DashboardError as exc:
                log_error_shown(request, exc, org_id, f" (during a {what})")
                yield "</div>" + render_to_string(FAILED, {**context, "error": exc}, request)
                yield tail
                return
            finally:
                steps.close()
            yield "</div>" + result()
            yield tail
    finally:
        run.close()


def scanning_page[P](
    request: HttpRequest,
    run: ScanRun[P],
    place: Place,
    page: str,
    *,
    what: str,
    progress_line: Callable[[P], str],
    result: Callable[[], str],
    context: dict,
) -> HttpResponse:
    """The streamed page: `page` rendered whole with its `SPLIT` mark where the progress lines
    go (inside an open `<div>`); then `result()` (or `FAILED`, rendered with `context` and the
    error) and the rest of `page`.
    `place` goes back when the stream ends."""
    chunks = _stream(
        request,
        run,
        page,
        what=what,
        progress_line=progress_line,
        result=result,
        context=context,
    )
    bound_send_time(request)
    stream = LimitedStream(chunks, place, max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS)
    response = StreamingHttpResponse(stream, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    # Proxies such as nginx would otherwise hold the progress back until the end.
    response["X-Accel-Buffering"] = "no"
    return response
