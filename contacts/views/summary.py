"""The summary of a search: the page (counted while you watch, or from the cache), its JSON twin.

The page streams: the first page of contacts is asked before a byte is sent (so an upstream that
is down becomes an error page), then a progress line per scanned page, then the counts. Leaving
the page (or *Stop*, which leads back to the search) closes the connection, which closes the
stream and with it the scan. A finished summary is kept in the shared cache; *Refresh* counts
again.

Counting takes a summary place (`contacts.places`: per person and per process), answered 429
beyond them; a summary from the cache takes none. summary.json streams too, for the same
reason: the first page is asked before the response starts (errors keep their status), then a
space a second while it counts, so that a client that left is noticed on a write and its scan
stopped, then the JSON.

Requests for the same summary share one count, on any replica (`contacts.insights.flight`):
the first leads, the others follow its progress and end with its counts.
"""

import json
import logging
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from contacts import metrics
from contacts.access import organisation_member_required
from contacts.contact.query import ContactQuery
from contacts.errors import error_response, stream_end_json
from contacts.exports.limits import LimitedStream, bound_send_time
from contacts.exports.streaming import primed
from contacts.insights.flight import SharedSummaryRun
from contacts.insights.presentation import summary_context
from contacts.insights.summary import summary_cached
from contacts.places import SUMMARY, take_place
from contacts.saved import request_search
from contacts.search.params import (
    COLUMNS_PARAM,
    PAGE_PARAM,
    REFRESH_PARAM,
    SEEN_PARAM,
    START_PARAM,
)
from contacts.upstream.errors import DashboardError, PlacesBusy
from contacts.upstream.scan import ScanProgress
from contacts.views.scanning import scanning_page

log = logging.getLogger(__name__)

# The summary counts the search, whatever page or columns its address had.
SEARCH_ONLY = (COLUMNS_PARAM, PAGE_PARAM, START_PARAM, SEEN_PARAM)
KEEPALIVE = 1.0  # seconds between the spaces summary.json writes while it counts


def _progress_line(progress: ScanProgress, query: ContactQuery) -> str:
    rows = number_format(progress.rows, force_grouping=True)
    pages = number_format(progress.pages, force_grouping=True)
    if query.post_filtered:
        scanned = number_format(progress.scanned, force_grouping=True)
        text = _(
            "%(rows)s matching contacts counted among %(scanned)s read (pages read: %(pages)s)…"
        ) % {
            "rows": rows,
            "scanned": scanned,
            "pages": pages,
        }
    else:
        text = _("%(rows)s contacts counted (pages read: %(pages)s)…") % {
            "rows": rows,
            "pages": pages,
        }
    return f'<p class="progress-line">{text}</p>\n'


@organisation_member_required()
def contact_summary_page(request: HttpRequest, org_id: str) -> HttpResponse:
    search = request_search(request)
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "filter": search.filterset,
        "search": search,
    }
    if not search.valid:
        return render(request, "contacts/summary_invalid.html", context, status=400)
    query = search.query
    context["query"] = query
    context["chips"] = search.filterset.chips(query)
    context["search_url"] = search.search_url()
    context["refresh_url"] = search.get_query_string({REFRESH_PARAM: 1}, remove=SEARCH_ONLY)
    summary = None
    if not search.refresh:
        summary = summary_cached(organisation=request.organisation, query=query)
    if summary is not None:
        context.update(summary_context(query, summary, search.search_url))
        return render(request, "contacts/summary.html", context)

    # Counting holds a thread and keeps Contactship busy for as long as an export does.
    try:
        place = take_place(SUMMARY, str(request.user.pk))
    except PlacesBusy as busy:
        metrics.count_summary(metrics.REFUSED)
        return error_response(request, busy)
    run = SharedSummaryRun(organisation=request.organisation, query=query)
    try:
        # An upstream failure here is an error page, with its status.
        started = run.start(within=None if search.wait else settings.DASHBOARD_FIRST_PAINT_SECONDS)
    except BaseException:
        place.release()
        raise
    if not started:
        # Contactship is slow: the page now, saying so, which the browser replaces with the
        # same summary asked again, told to wait (the error page, if it comes, has its status).
        place.release()
        context["awaiting_url"] = search.awaiting_url
        return render(request, "contacts/summary.html", context)
    page = render_to_string("contacts/summary.html", {**context, "streaming": True}, request)

    def result() -> str:
        shown = summary_context(query, run.result(), search.search_url)
        return render_to_string("contacts/summary_result.html", {**context, **shown}, request)

    return scanning_page(
        request,
        run,
        place,
        page,
        what="summary",
        progress_line=lambda progress: _progress_line(progress, query),
        result=result,
        context=context,
    )


@primed
def _json_stream(request: HttpRequest, run: SharedSummaryRun) -> Iterator[bytes | None]:
    """summary.json's body: a space every KEEPALIVE seconds while counting (JSON ignores
    whitespace before a value), then the summary. The spaces are how a client that left is
    noticed: the write fails, the server closes this stream, and that closes the scan, which
    otherwise nothing would stop."""
    org_id = run.organisation.id
    try:
        yield  # primed: a client gone before the first byte still ends the scan
        last = time.monotonic()
        steps = run.steps()
        try:
            for _progress in steps:
                now = time.monotonic()
                if now - last >= KEEPALIVE:
                    last = now
                    yield b" "
        except GeneratorExit:
            log.info("summary cancelled org=%s rows=%d", org_id, run.progress.rows)
            raise
        except DashboardError as exc:
            # Too late for its status: the error's JSON, the same shape as before the scan.
            yield stream_end_json(request, exc, when=" (during a summary)")
            return
        finally:
            steps.close()
        yield json.dumps(run.result(), ensure_ascii=False).encode()
    finally:
        run.close()


@organisation_member_required()
def contact_summary_json(request: HttpRequest, org_id: str) -> HttpResponse:
    search = request_search(request)
    if not search.valid:
        form_errors = search.filterset.form.errors
        errors = {name: [str(e) for e in errs] for name, errs in form_errors.items()}
        return JsonResponse(
            {
                "error": "invalid_filters",
                "message": _("Some search fields are not valid."),
                "fields": errors,
            },
            status=400,
        )
    query = search.query
    if not search.refresh:
        summary = summary_cached(organisation=request.organisation, query=query)
        if summary is not None:
            response = JsonResponse(summary, json_dumps_params={"ensure_ascii": False})
            response["Cache-Control"] = "no-store"
            return response
    try:
        place = take_place(SUMMARY, str(request.user.pk))
    except PlacesBusy as busy:
        metrics.count_summary(metrics.REFUSED)
        return error_response(request, busy, as_json=True)
    run = SharedSummaryRun(organisation=request.organisation, query=query)
    try:
        run.start()  # the first page before the response: an upstream failure keeps its status
    except DashboardError as exc:
        place.release()
        return error_response(request, exc, as_json=True)
    except BaseException:
        place.release()
        raise
    bound_send_time(request)
    stream = LimitedStream(
        _json_stream(request, run), place, max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS
    )
    response = StreamingHttpResponse(stream, content_type="application/json")
    response["Cache-Control"] = "no-store"
    # The spaces must reach the client as they are written, or a client gone goes unnoticed.
    response["X-Accel-Buffering"] = "no"
    return response
