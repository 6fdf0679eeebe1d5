"""Quick find (one value to its contact page) and bulk lookup (a list to a table or a file).

Both ask Contactship's `GET /contacts/{identifier}` for emails, phone numbers and contact ids
(`upstream.identifiers` decides which a value is). Upstream failures that end the whole request
become error pages through the middleware; a bulk lookup's failure for one value is that row's
`failed` status.
"""

import logging
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _

from contacts.access import organisation_member_required
from contacts.contact.identifiers import REASON_NATIONAL, REASON_PHONE, Identifier, identifier_parse
from contacts.errors import error_response
from contacts.exports.formats import FORMATS
from contacts.exports.limits import LimitedStream, bound_send_time, export_ticket
from contacts.exports.lookup import (
    LookupRecord,
    lookup_csv_chunks,
    lookup_start,
    lookup_xlsx_chunks,
)
from contacts.lookups.form import LookupForm
from contacts.lookups.uploads import upload_refusal
from contacts.models import AuditEvent
from contacts.places import LOOKUP, take_place
from contacts.search.tables import contact_page_url
from contacts.upstream.client import contactship_client
from contacts.upstream.errors import ExportsBusy, PlacesBusy, UpstreamNotFound
from contacts.upstream.lookup import LookupRow

log = logging.getLogger(__name__)

FIND_PARAM = "q"
NDJSON = "application/x-ndjson"
BOM_PARAM = "bom"


def _reason(identifier: Identifier, region: str) -> str:
    """What a quick find expected, for a value it could not read."""
    if not identifier.text:
        return _("Type an email, a phone number or a contact id.")
    if identifier.reason == REASON_NATIONAL:
        return _(
            "“%(value)s” looks like a phone number without its country code. Type it in "
            "international format, starting with + (e.g. +52 55 1234 5678)."
        ) % {"value": identifier.text}
    if identifier.reason == REASON_PHONE:
        return _(
            "“%(value)s” is not a phone number of the length its country uses. Check the digits "
            "and the country code."
        ) % {"value": identifier.text}
    return _(
        "“%(value)s” is not an email, a phone number or a contact id. Type an email "
        "(ana@example.com), a phone number (+52 55 1234 5678) or a contact id; to search by "
        "name, use the search fields."
    ) % {"value": identifier.text}


@organisation_member_required()
def contact_find(request: HttpRequest, org_id: str) -> HttpResponse:
    organisation = request.organisation
    region = organisation.default_region
    identifier = identifier_parse(request.GET.get(FIND_PARAM, ""), default_region=region)
    if not identifier.valid:
        context = {
            "organisation": organisation,
            "access": request.access,
            "find_value": identifier.text,
            "message": _reason(identifier, region),
        }
        return render(request, "contacts/find_invalid.html", context, status=400)
    try:
        contact = contactship_client().contact_find(
            organisation=organisation, identifier=identifier
        )
    except UpstreamNotFound:
        search: dict[str, str] = {}
        if identifier.kind in ("email", "phone_number"):
            search[identifier.kind] = identifier.value
            note = _("No contact has exactly “%(value)s”. These are the partial matches.")
        else:
            note = _("No contact has the id “%(value)s”.")
        messages.info(request, note % {"value": identifier.value})
        url = reverse("contact_list", args=[org_id])
        return redirect(url + (f"?{urlencode(search)}" if search else ""))
    url = contact_page_url(org_id, contact.id)
    if url:
        return redirect(url)
    # Found, but its id (missing, or with a "/") can be no page's address: the search shows it.
    log.info("quick find org=%s: the contact found has an id no URL can carry", org_id)
    messages.info(request, _("The contact was found, but it has no page of its own."))
    search = {identifier.kind: identifier.value} if identifier.kind != "id" else {}
    url = reverse("contact_list", args=[org_id])
    return redirect(url + (f"?{urlencode(search)}" if search else ""))


def _page_context(request: HttpRequest, form: LookupForm) -> dict:
    return {
        "organisation": request.organisation,
        "access": request.access,
        "form": form,
        "lookup_max": settings.DASHBOARD_LOOKUP_MAX,
    }


def _refused_input(request: HttpRequest, form: LookupForm, ticket) -> HttpResponse | None:
    """Read the form's list or file once the place is taken (a file's parse is the costly part,
    and waits its turn); the form with its message, the place given back, if it is refused."""
    try:
        if form.read_input():
            return None
    except BaseException:
        ticket.release()
        raise
    ticket.release()
    return render(request, "contacts/lookup.html", _page_context(request, form), status=form.status)


def _identifiers(form: LookupForm, region: str) -> list[Identifier]:
    values = form.input.values if form.input is not None else []
    return [identifier_parse(v, default_region=region) for v in values]


def _row_json(row: LookupRow, org_id: str) -> dict:
    contact = row.contact
    line = {
        "line": row.line,
        "input": row.identifier.text,
        "input_type": row.identifier.kind,
        "status": row.status,
        "first_line": row.first_line or None,
        "result": row.result,
    }
    if contact is not None:
        line["contact"] = {
            "id": contact.id,
            "full_name": contact.full_name,
            "email": contact.email,
            "phone_number": contact.phone_number,
            "country": contact.country,
            "url": contact_page_url(org_id, contact.id),
        }
    return line


def _ndjson(first: list[LookupRow], lookups, org_id: str):
    progress = lookups.progress
    start = {"type": "start", "values": progress.values, "calls": progress.calls}
    yield orjson.dumps(start) + b"\n"
    for source in (first, lookups):
        for row in source:
            line = _row_json(row, org_id)
            line.update(type="row", done=progress.done, in_flight=progress.in_flight)
            yield orjson.dumps(line) + b"\n"
    end = {
        "type": "end",
        "counts": dict(progress.counts),
        "in_flight_peak": progress.in_flight_peak,
    }
    yield orjson.dumps(end) + b"\n"


@organisation_member_required()
def contact_lookup(request: HttpRequest, org_id: str) -> HttpResponse:
    organisation = request.organisation
    if request.method != "POST":
        form = LookupForm(default_region=organisation.default_region)
        return render(request, "contacts/lookup.html", _page_context(request, form))
    form = LookupForm(
        request.POST,
        request.FILES,
        default_region=organisation.default_region,
        upload_refusal=upload_refusal(request),
    )
    if not form.is_valid():
        return render(
            request, "contacts/lookup.html", _page_context(request, form), status=form.status
        )

    streamed = NDJSON in request.headers.get("Accept", "")
    record = LookupRecord(
        user=request.user,
        username=request.user.get_username(),
        organisation=organisation,
        fmt="ndjson" if streamed else "",
        path=request.path,
    )
    # A lookup holds a server thread as long as an export does: it takes a place of its own
    # kind, so that lookups by members without the export right never refuse someone's export.
    try:
        ticket = take_place(LOOKUP, str(request.user.pk))
    except PlacesBusy as busy:
        return error_response(request, busy)
    if (refused := _refused_input(request, form, ticket)) is not None:
        return refused
    try:
        first, lookups = lookup_start(
            record=record,
            organisation=organisation,
            identifiers=_identifiers(form, organisation.default_region),
        )
    except BaseException:
        ticket.release()
        raise
    if streamed:
        # The page's script shows the rows and the progress as they come, and cancels by
        # closing the connection.
        bound_send_time(request)
        stream = LimitedStream(
            record.stream(_ndjson(first, lookups, org_id)),
            ticket,
            max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS,
        )
        response = StreamingHttpResponse(stream, content_type=NDJSON)
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"
        return response
    # Without JavaScript: the whole result as a page.
    try:
        rows = [*first, *lookups]
    except Exception as exc:
        record.finish(AuditEvent.Outcome.FAILED, exc)
        raise
    finally:
        lookups.close()
        ticket.release()
    record.finish(AuditEvent.Outcome.COMPLETED)
    shown = [(row, contact_page_url(org_id, row.contact and row.contact.id)) for row in rows]
    context = {**_page_context(request, form), "rows": shown, "progress": lookups.progress}
    return render(request, "contacts/lookup.html", context)


@organisation_member_required(export=True)
def contact_lookup_file(request: HttpRequest, org_id: str, fmt: str) -> HttpResponse:
    if request.method != "POST":
        # The file answers the form; opened as an address (a bookmark), it leads to the form.
        return redirect("contact_lookup", org_id)
    organisation = request.organisation
    form = LookupForm(
        request.POST,
        request.FILES,
        default_region=organisation.default_region,
        upload_refusal=upload_refusal(request),
    )
    if not form.is_valid():
        return render(
            request, "contacts/lookup.html", _page_context(request, form), status=form.status
        )
    export_format = FORMATS[fmt]
    try:
        ticket = export_ticket(str(request.user.pk))
    except ExportsBusy as busy:
        return error_response(request, busy)
    if (refused := _refused_input(request, form, ticket)) is not None:
        return refused
    record = LookupRecord(
        user=request.user,
        username=request.user.get_username(),
        organisation=organisation,
        fmt=export_format.name,
        path=request.path,
    )
    try:
        first, lookups = lookup_start(
            record=record,
            organisation=organisation,
            identifiers=_identifiers(form, organisation.default_region),
        )
    except BaseException:
        ticket.release()
        raise
    rows = _chain(first, lookups)
    if fmt == "csv":
        chunks = lookup_csv_chunks(rows, bom=request.POST.get(BOM_PARAM) != "0")
    else:
        chunks = lookup_xlsx_chunks(rows)
    bound_send_time(request)
    stream = LimitedStream(
        record.stream(chunks), ticket, max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS
    )
    response = StreamingHttpResponse(stream, content_type=export_format.content_type)
    today = timezone.localdate().isoformat()
    name = slugify(organisation.name) or "lookup"
    filename = f"lookup-{name}-{today}.{export_format.extension}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


def _chain(first: list[LookupRow], rest):
    yield from first
    yield from rest
