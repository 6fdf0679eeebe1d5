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
"""

import calendar
import json
import logging
import time
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from contacts.access import organisation_member_required
from contacts.contact.query import ContactQuery
from contacts.contact.types import NO_COUNTRY
from contacts.errors import error_response, stream_end_json
from contacts.exports.limits import LimitedStream, bound_send_time
from contacts.exports.streaming import primed
from contacts.insights.summary import COMPLETENESS_FIELDS, Summary, SummaryRun, summary_cached
from contacts.middleware import log_error_shown
from contacts.places import SUMMARY, take_place
from contacts.search.filters import ContactFilter
from contacts.upstream.errors import DashboardError, PlacesBusy
from contacts.upstream.scan import ScanProgress

log = logging.getLogger(__name__)

REFRESH_PARAM = "refresh"
PROGRESS_EVERY = 0.25  # seconds between progress lines on the page
KEEPALIVE = 1.0  # seconds between the spaces summary.json writes while it counts
SPLIT = "<!--summary-body-->"
CHART_HEIGHT = 100
# Empty months between two months with contacts that the chart still shows one by one; a longer
# stretch is drawn as one gap.
MAX_EMPTY_RUN = 12


def _search_url(org_id: str, query: ContactQuery, **narrow: str) -> str:
    params = {**query.params(), **narrow}
    return reverse("contact_list", args=[org_id]) + (f"?{urlencode(params)}" if params else "")


def _month_range(query: ContactQuery, month: str) -> dict[str, str]:
    """The search narrowed to one month, within the dates it already had."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    last = date(year, number, calendar.monthrange(year, number)[1])
    if query.created_from and query.created_from > first:
        first = query.created_from
    if query.created_to and query.created_to < last:
        last = query.created_to
    return {"created_from": first.isoformat(), "created_to": last.isoformat()}


def _month_index(month: str) -> int:
    year, number = (int(p) for p in month.split("-"))
    return year * 12 + number - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _chart_months(dated: list[str]) -> list[str | None]:
    """The months the chart shows, oldest first: every month with contacts, the empty months
    between two of them when at most MAX_EMPTY_RUN apart, and `None` for a longer stretch (a
    gap), so contacts dated years apart make a few bars, not one for every month between."""
    shown: list[str | None] = []
    previous = None
    for month in sorted(dated):
        index = _month_index(month)
        if previous is not None:
            empty = index - previous - 1
            if empty > MAX_EMPTY_RUN:
                shown.append(None)
            else:
                shown.extend(_month_name(previous + 1 + n) for n in range(empty))
        shown.append(month)
        previous = index
    return shown


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def summary_context(org_id: str, query: ContactQuery, summary: Summary) -> dict:
    """What the template shows: every count with the search narrowed to it, and the chart."""
    count = summary["count"]
    countries = [
        {
            "value": row["value"],
            "count": row["count"],
            "share": _share(row["count"], count),
            "url": _search_url(org_id, query, country=row["value"] or NO_COUNTRY),
        }
        for row in summary["countries"]
    ]
    by_month = {row["month"]: row["count"] for row in summary["created_by_month"]}
    months = _chart_months([m for m in by_month if m])
    peak = max((by_month.get(m, 0) for m in months if m), default=0)
    bars = []
    for index, month in enumerate(months):
        if month is None:
            bars.append({"gap": True, "x": str(index * 10 + 5)})
            continue
        n = by_month.get(month, 0)
        height = round(CHART_HEIGHT * n / peak, 2) if peak else 0
        bars.append(
            {
                "month": month,
                "count": n,
                # Strings: SVG wants "12.5" whatever the language's decimal separator.
                "x": str(index * 10 + 1),
                "y": str(round(CHART_HEIGHT - height, 2)),
                "height": str(height),
                "url": _search_url(org_id, query, **_month_range(query, month)),
            }
        )
    domains = [
        {**row, "url": _search_url(org_id, query, email_domain=row["value"])}
        for row in summary["email_domains"]
    ]
    labels = {
        "email": _("Email"),
        "phone_number": _("Phone"),
        "country": _("Country"),
        "description": _("Description"),
    }
    completeness = [
        {
            "label": labels[name],
            "count": summary["completeness"].get(name, 0),
            "share": _share(summary["completeness"].get(name, 0), count),
        }
        for name in COMPLETENESS_FIELDS
    ]
    fields = [{**row, "share": _share(row["count"], count)} for row in summary["fields"]]
    computed_at = datetime.fromisoformat(summary["computed_at"].replace("Z", "+00:00"))
    return {
        "summary": summary,
        "count": count,
        "countries": countries,
        "bars": bars,
        "chart_width": str(len(months) * 10),
        "chart_height": CHART_HEIGHT,
        "peak": peak,
        "undated": by_month.get(None, 0),
        "domains": domains,
        "completeness": completeness,
        "fields": fields,
        "computed_at": computed_at,
        "search_url": _search_url(org_id, query),
        "refresh_url": "?" + urlencode({**query.params(), REFRESH_PARAM: "1"}),
    }


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


@primed
def _stream(
    request: HttpRequest, run: SummaryRun, head: str, tail: str, context: dict
) -> Iterator[str | None]:
    language = translation.get_language()
    org_id = run.organisation.id
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
                        yield _progress_line(progress, run.query)
            except GeneratorExit:
                log.info("summary cancelled org=%s rows=%d", org_id, run.progress.rows)
                raise
            except DashboardError as exc:
                # Too late for an error page: the status has gone. The page says it in words.
                log_error_shown(request, exc, org_id, " (during a summary)")
                yield "</div>" + render_to_string(
                    "contacts/summary_failed.html", {**context, "error": exc}, request
                )
                yield tail
                return
            finally:
                steps.close()
                run.close()
            summary = run.result()
            yield "</div>" + render_to_string(
                "contacts/summary_result.html",
                {**context, **summary_context(org_id, run.query, summary)},
                request,
            )
            yield tail
    finally:
        run.close()


@organisation_member_required()
def contact_summary_page(request: HttpRequest, org_id: str) -> HttpResponse:
    filterset = ContactFilter(request.GET)
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "filter": filterset,
    }
    if not filterset.is_valid():
        return render(request, "contacts/summary_invalid.html", context, status=400)
    query = filterset.qs
    context["query"] = query
    fields = filterset.form.fields
    context["chips"] = [(fields[name].label, value) for name, value in query.params().items()]
    context["search_url"] = _search_url(org_id, query)
    summary = None
    if REFRESH_PARAM not in request.GET:
        summary = summary_cached(organisation=request.organisation, query=query)
    if summary is not None:
        context.update(summary_context(org_id, query, summary))
        return render(request, "contacts/summary.html", context)

    # Counting holds a thread and keeps Contactship busy for as long as an export does.
    try:
        place = take_place(SUMMARY, str(request.user.pk))
    except PlacesBusy as busy:
        return error_response(request, busy)
    run = SummaryRun(organisation=request.organisation, query=query)
    try:
        run.start()  # an upstream failure here is an error page, with its status
    except BaseException:
        place.release()
        raise
    page = render_to_string("contacts/summary.html", {**context, "streaming": True}, request)
    head, _, tail = page.partition(SPLIT)
    bound_send_time(request)
    stream = LimitedStream(
        _stream(request, run, head, tail, context),
        place,
        max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS,
    )
    response = StreamingHttpResponse(stream, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    # Proxies such as nginx would otherwise hold the progress back until the end.
    response["X-Accel-Buffering"] = "no"
    return response


@primed
def _json_stream(request: HttpRequest, run: SummaryRun) -> Iterator[bytes | None]:
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
    filterset = ContactFilter(request.GET)
    if not filterset.is_valid():
        errors = {name: [str(e) for e in errs] for name, errs in filterset.form.errors.items()}
        return JsonResponse(
            {
                "error": "invalid_filters",
                "message": _("Some search fields are not valid."),
                "fields": errors,
            },
            status=400,
        )
    query = filterset.qs
    if REFRESH_PARAM not in request.GET:
        summary = summary_cached(organisation=request.organisation, query=query)
        if summary is not None:
            response = JsonResponse(summary, json_dumps_params={"ensure_ascii": False})
            response["Cache-Control"] = "no-store"
            return response
    try:
        place = take_place(SUMMARY, str(request.user.pk))
    except PlacesBusy as busy:
        return error_response(request, busy, as_json=True)
    run = SummaryRun(organisation=request.organisation, query=query)
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
