"""The CSV and XLSX exports of a search, and how far one has got."""

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from contacts.access import organisation_member_required
from contacts.contact.columns import (
    CONTACT_COLUMNS,
    InvalidColumns,
)
from contacts.errors import error_response
from contacts.exports import progress as export_progress
from contacts.exports.formats import FORMATS
from contacts.exports.limits import LimitedStream, export_ticket
from contacts.exports.limits import bound_send_time as _bound_send_time
from contacts.exports.service import contact_export as contact_export_service
from contacts.proxy import client_address
from contacts.search.filters import ContactFilter
from contacts.upstream.errors import ExportsBusy
from contacts.views.search import BOM_PARAM, _requested_columns


@organisation_member_required(export=True)
@export_progress.recorded
def contact_export(request: HttpRequest, org_id: str, fmt: str) -> HttpResponse:
    filterset = ContactFilter(request.GET)
    columns_error = None
    try:
        columns = _requested_columns(request)
    except InvalidColumns as exc:
        columns, columns_error = None, exc
    if not filterset.is_valid() or columns_error is not None:
        context = {
            "organisation": request.organisation,
            "filter": filterset,
            "columns_error": columns_error,
            "contact_columns": CONTACT_COLUMNS,
        }
        return render(request, "contacts/export_invalid.html", context, status=400)

    try:
        ticket = export_ticket(str(request.user.pk))
    except ExportsBusy as busy:
        return _exports_busy(request, busy)
    export_format = FORMATS[fmt]
    # The search page's token, if any: the page shows how far this export has got. Recorded
    # only once the export has its place, so that refused ones leave no key behind.
    progress = request.export_progress
    progress.start()
    try:
        chunks, _ = contact_export_service(
            user=request.user,
            username=request.user.get_username(),
            organisation=request.organisation,
            query=filterset.qs,
            fmt=export_format,
            source="web",
            bom=request.GET.get(BOM_PARAM) != "0",
            path=request.path,
            ip_address=client_address(request),
            progress=progress,
            columns=columns,
        )
        chunks = export_progress.watch(chunks, progress)
        if fmt == "xlsx":
            # Its bytes only come when the workbook is complete: a failure until then becomes an
            # error page (a failed download, from the search page) rather than the server's
            # bare 500.
            chunks = export_progress.started(chunks)
    except BaseException:
        ticket.release()
        raise
    _bound_send_time(request)
    stream = LimitedStream(chunks, ticket, max_seconds=settings.DASHBOARD_EXPORT_MAX_SECONDS)
    response = StreamingHttpResponse(stream, content_type=export_format.content_type)
    today = timezone.localdate().isoformat()
    name = slugify(request.organisation.name) or "export"
    filename = f"contacts-{name}-{today}.{export_format.extension}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    # Proxies such as nginx would otherwise buffer the whole file before sending a byte.
    response["X-Accel-Buffering"] = "no"
    return response


@organisation_member_required(export=True)
def contact_export_progress(request: HttpRequest, org_id: str) -> HttpResponse:
    """How far the requesting user's export with `?token=` has got: JSON for the search page."""
    token = request.GET.get("token", "")
    if not export_progress.valid_token(token):
        return JsonResponse({"error": "a token of 16 to 64 letters, digits, - or _"}, status=400)
    state = export_progress.read(
        organisation_id=request.organisation.id, user_id=request.user.pk, token=token
    )
    response = JsonResponse(state)
    response["Cache-Control"] = "no-store"
    return response


def _exports_busy(request: HttpRequest, busy: ExportsBusy) -> HttpResponse:
    return error_response(request, busy)
