"""Quick find (one value to its contact page) and bulk lookup (a list to a table or a file).

Both ask Contactship's `GET /contacts/{identifier}` for emails, phone numbers and contact ids
(`upstream.identifiers` decides which a value is). Upstream failures that end the whole request
become error pages through the middleware; a bulk lookup's failure for one value is that row's
`failed` status.
"""

import logging
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from contacts import metrics
from contacts.access import organisation_member_required
from contacts.contact.identifiers import REASON_NATIONAL, REASON_PHONE, Identifier, identifier_parse
from contacts.errors import error_response
from contacts.exports.download import download, download_filename
from contacts.exports.formats import ExportFormat, streamed_lookup
from contacts.exports.lookup import lookup_record, lookup_start, retry_rows
from contacts.exports.reasons import lookup_stop, row_reason
from contacts.exports.record import DownloadRecord
from contacts.lookups.form import LookupForm
from contacts.lookups.uploads import upload_refusal
from contacts.models import AuditEvent
from contacts.places import EXPORT, LOOKUP, take_place
from contacts.search.tables import contact_page_url
from contacts.upstream.client import contactship_client
from contacts.upstream.errors import PlacesBusy, UpstreamNotFound
from contacts.upstream.lookup import LookupRow, Lookups

log = logging.getLogger(__name__)

FIND_PARAM = "q"
BOM_PARAM = "bom"


def _reason(identifier: Identifier) -> str:
    """What a quick find expected, for a value it could not read."""
    if not identifier.text:
        return _("Type an email, a phone number or a contact id.")
    if identifier.reason == REASON_NATIONAL:
        # A valid international number whose + was dropped is read as one (and found): what
        # is left lacks its country code.
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
            "message": _reason(identifier),
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


def _form_page(request: HttpRequest, form: LookupForm) -> HttpResponse:
    return render(request, "contacts/lookup.html", _page_context(request, form), status=form.status)


def _posted_form(request: HttpRequest) -> LookupForm:
    return LookupForm(
        request.POST,
        request.FILES,
        default_region=request.organisation.default_region,
        upload_refusal=upload_refusal(request),
        retry_rows=partial(retry_rows, request.organisation.id, request.user.pk),
    )


def _refused_input(request: HttpRequest, form: LookupForm) -> HttpResponse | None:
    """Read the form's list or file once the place is taken (a file's parse is the costly part,
    and waits its turn); the form with its message if it is refused."""
    return None if form.read_input() else _form_page(request, form)


def _start(
    request: HttpRequest, form: LookupForm, record: DownloadRecord, *, page: bool
) -> tuple[Iterator[LookupRow], Lookups]:
    """The lookup of the form's values, or of the failed rows of the one it retries; a page's
    (`page`) keeps its rows for a retry."""
    organisation = request.organisation
    region = organisation.default_region
    given = form.input
    identifiers = (
        [identifier_parse(v, default_region=region) for v in given.values] if given else []
    )
    return lookup_start(
        record=record,
        organisation=organisation,
        user_id=request.user.pk,
        identifiers=identifiers,
        lines=given.lines if given else None,
        previous=form.previous,
        remember=page,
    )


def _lookup_download(
    request: HttpRequest, form: LookupForm, fmt: ExportFormat, *, place: str, filename: str = ""
) -> HttpResponse:
    """The lookup's result as `fmt`: a file, or the stream the page's script reads."""
    organisation = request.organisation

    def start():
        record = lookup_record(
            user=request.user,
            username=request.user.get_username(),
            organisation=organisation,
            fmt=fmt.name,
            path=request.path,
        )
        rows, lookups = _start(request, form, record, page=not fmt.file)
        options = {
            "bom": request.POST.get(BOM_PARAM) != "0",
            "contact_url": partial(contact_page_url, organisation.id),
        }
        return record.stream(fmt.lookup_writer(rows, progress=lookups.progress, **fmt.own(options)))

    return download(
        request,
        fmt=fmt,
        start=start,
        filename=filename,
        place=place,
        admit=lambda _place: _refused_input(request, form),
        lookup=True,
    )


def _lookup_page(request: HttpRequest, form: LookupForm) -> HttpResponse:
    """Without JavaScript: the whole result as a page."""
    organisation = request.organisation
    try:
        place = take_place(LOOKUP, str(request.user.pk))
    except PlacesBusy as busy:
        metrics.count_lookup(metrics.REFUSED)
        return error_response(request, busy)
    try:
        if (refused := _refused_input(request, form)) is not None:
            return refused
        record = lookup_record(
            user=request.user,
            username=request.user.get_username(),
            organisation=organisation,
            fmt="",
            path=request.path,
        )
        read, lookups = _start(request, form, record, page=True)
        try:
            rows = list(read)
        except Exception as exc:
            record.finish(AuditEvent.Outcome.FAILED, exc)
            raise
        finally:
            lookups.close()
    finally:
        place.release()
    record.finish(AuditEvent.Outcome.COMPLETED)
    org_id = organisation.id
    shown = [
        (row, contact_page_url(org_id, row.contact and row.contact.id), row_reason(row))
        for row in rows
    ]
    context = {
        **_page_context(request, form),
        "rows": shown,
        "progress": lookups.progress,
        "stop": lookup_stop(lookups.progress),
    }
    return render(request, "contacts/lookup.html", context)


@organisation_member_required()
def contact_lookup(request: HttpRequest, org_id: str) -> HttpResponse:
    if request.method != "POST":
        form = LookupForm(default_region=request.organisation.default_region)
        return render(request, "contacts/lookup.html", _page_context(request, form))
    form = _posted_form(request)
    if not form.is_valid():
        return _form_page(request, form)
    # A lookup holds a server thread as long as an export does: it takes a place of its own
    # kind, so that lookups by members without the export right never refuse someone's export.
    streamed = streamed_lookup(request.headers.get("Accept", ""))
    if streamed is not None:
        # The page's script shows the rows and the progress as they come, and cancels by
        # closing the connection.
        return _lookup_download(request, form, streamed, place=LOOKUP)
    return _lookup_page(request, form)


@organisation_member_required(export=True)
def contact_lookup_file(request: HttpRequest, org_id: str, fmt: ExportFormat) -> HttpResponse:
    if request.method != "POST":
        # The file answers the form; opened as an address (a bookmark), it leads to the form.
        return redirect("contact_lookup", org_id)
    form = _posted_form(request)
    if not form.is_valid():
        return _form_page(request, form)
    name = request.organisation.name
    filename = download_filename("lookup", name, fmt, fallback="lookup")
    return _lookup_download(request, form, fmt, place=EXPORT, filename=filename)
