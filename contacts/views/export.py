"""The CSV and XLSX exports of a search, and how far one has got."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from contacts.access import organisation_member_required
from contacts.contact.columns import CONTACT_COLUMNS
from contacts.exports import progress as export_progress
from contacts.exports.download import download, download_filename
from contacts.exports.formats import ExportFormat
from contacts.exports.service import contact_export as contact_export_service
from contacts.proxy import client_address
from contacts.saved import request_search
from contacts.search.params import BOM_PARAM


@organisation_member_required(export=True)
@export_progress.recorded
def contact_export(request: HttpRequest, org_id: str, fmt: ExportFormat) -> HttpResponse:
    search = request_search(request)
    if search.status != 200:
        context = {
            "organisation": request.organisation,
            "filter": search.filterset,
            "columns_error": search.columns_error,
            "contact_columns": CONTACT_COLUMNS,
        }
        return render(request, "contacts/export_invalid.html", context, status=400)

    def start():
        chunks, _ = contact_export_service(
            user=request.user,
            username=request.user.get_username(),
            organisation=request.organisation,
            query=search.query,
            fmt=fmt,
            source="web",
            bom=request.GET.get(BOM_PARAM) != "0",
            path=request.path,
            ip_address=client_address(request),
            progress=request.export_progress,
            columns=search.columns,
            view=search.view,
        )
        return chunks

    return download(
        request,
        fmt=fmt,
        start=start,
        filename=download_filename(
            "contacts",
            request.organisation.name,
            fmt,
            fallback="export",
            search=search.query.params(),
        ),
        # The search page's token, if any: the page shows how far this export has got.
        progress=request.export_progress,
    )


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
