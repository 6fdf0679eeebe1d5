"""The duplicates of a search: the page (found while you watch) and its CSV and XLSX downloads.

`?by=email|phone|name` (email when absent) with the search's filters; the downloads take the
chosen `columns` too. The page needs membership, as the summary does, and takes a summary place
while it scans; the downloads need the export right and go the one download way (`download`).
Nothing is kept: every visit finds the duplicates again (see `contacts.exports.duplicates`).
"""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts import metrics
from contacts.access import organisation_member_required
from contacts.contact.columns import CONTACT_COLUMNS
from contacts.errors import error_response
from contacts.exports import progress as export_progress
from contacts.exports.download import download, download_filename
from contacts.exports.duplicates import BY_PARAM, EMAIL, KINDS, DuplicatesProgress, DuplicatesRun
from contacts.exports.formats import DUPLICATE_FILES, ExportFormat
from contacts.exports.service import duplicates_export
from contacts.places import SUMMARY, take_place
from contacts.proxy import client_address
from contacts.saved import request_search
from contacts.search.params import BOM_PARAM
from contacts.search.tables import ContactTable
from contacts.upstream.errors import PlacesBusy
from contacts.views.scanning import scanning_page

SHOWN_GROUPS = 100  # groups the page shows; the downloads hold them all
BY_LABELS = {
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "name": gettext_lazy("Name"),
}
TITLES = {
    "email": gettext_lazy("Contacts sharing an email address"),
    "phone": gettext_lazy("Contacts sharing a phone number"),
    "name": gettext_lazy("Contacts with the same name, maybe written differently"),
}
NONE_FOUND = {
    "email": gettext_lazy("No two of the matching contacts share an email address."),
    "phone": gettext_lazy("No two of the matching contacts share a phone number."),
    "name": gettext_lazy("No two of the matching contacts have the same name."),
}


def _by(request: HttpRequest) -> str | None:
    """The key asked for (email when none is); None for an unknown one."""
    by = request.GET.get(BY_PARAM, EMAIL)
    return by if by in KINDS else None


def _progress_line(state: DuplicatesProgress) -> str:
    values = {
        "scan": state.scan,
        "rows": number_format(state.progress.rows, force_grouping=True),
        "pages": number_format(state.progress.pages, force_grouping=True),
    }
    text = _("Reading %(scan)s of 2: %(rows)s matching contacts (pages read: %(pages)s)…") % values
    return f'<p class="progress-line">{text}</p>\n'


def _query(search, **more: str) -> str:
    """The search's downloads' parameters (filters, columns, view) with `more`."""
    return "&".join(part for part in (search.export_query, urlencode(more)) if part)


def _context(request: HttpRequest, search, by: str) -> dict:
    query = search.query
    fields = search.filterset.form.fields
    org_id = request.organisation.id
    switch = [
        {"by": kind, "label": label, "query": _query(search, by=kind), "current": kind == by}
        for kind, label in BY_LABELS.items()
    ]
    return {
        "organisation": request.organisation,
        "access": request.access,
        "filter": search.filterset,
        "search": search,
        "query": query,
        "by": by,
        "title": TITLES[by],
        "none_found": NONE_FOUND[by],
        "switch": switch,
        "chips": [(fields[name].label, value) for name, value in query.params().items()],
        "search_url": search.search_url(),
        "summary_url": search.url_for("contact_summary"),
        "downloads": DUPLICATE_FILES.values(),
        "download_query": _query(search, by=by),
        "org_id": org_id,
    }


def _result(request: HttpRequest, run: DuplicatesRun, search, context: dict) -> str:
    groups = run.groups or []
    shown = [
        (
            group,
            ContactTable(
                group.contacts,
                organisation_id=run.organisation.id,
                back_query=search.back_query,
                columns=search.columns,
            ),
        )
        for group in groups[:SHOWN_GROUPS]
    ]
    result = {
        "groups": shown,
        "group_count": len(groups),
        "contact_count": sum(len(group.contacts) for group in groups),
        "matching": run.matching,
        "shown_groups": SHOWN_GROUPS,
    }
    return render_to_string("contacts/duplicates_result.html", {**context, **result}, request)


@organisation_member_required()
def contact_duplicates(request: HttpRequest, org_id: str) -> HttpResponse:
    search = request_search(request)
    by = _by(request)
    if not search.valid or by is None:
        context = {
            "organisation": request.organisation,
            "filter": search.filterset,
            "by_error": by is None,
        }
        return render(request, "contacts/duplicates_invalid.html", context, status=400)
    context = _context(request, search, by)
    try:
        place = take_place(SUMMARY, str(request.user.pk))
    except PlacesBusy as busy:
        metrics.count_summary(metrics.REFUSED)
        return error_response(request, busy)
    run = DuplicatesRun(organisation=request.organisation, query=search.query, by=by)
    try:
        run.start()  # an upstream failure here is an error page, with its status
    except BaseException:
        place.release()
        raise
    page = render_to_string("contacts/duplicates.html", context, request)

    return scanning_page(
        request,
        run,
        place,
        page,
        what="duplicates",
        progress_line=_progress_line,
        result=lambda: _result(request, run, search, context),
        context=context,
    )


@organisation_member_required(export=True)
@export_progress.recorded
def contact_duplicates_file(request: HttpRequest, org_id: str, fmt: ExportFormat) -> HttpResponse:
    search = request_search(request)
    by = _by(request)
    if search.status != 200 or by is None:
        context = {
            "organisation": request.organisation,
            "filter": search.filterset,
            "columns_error": search.columns_error,
            "contact_columns": CONTACT_COLUMNS,
            "by_error": by is None,
        }
        return render(request, "contacts/export_invalid.html", context, status=400)

    def start():
        return duplicates_export(
            user=request.user,
            username=request.user.get_username(),
            organisation=request.organisation,
            query=search.query,
            by=by,
            fmt=fmt,
            bom=request.GET.get(BOM_PARAM) != "0",
            path=request.path,
            ip_address=client_address(request),
            progress=request.export_progress,
            columns=search.columns,
            view=search.view,
        )

    name = request.organisation.name
    return download(
        request,
        fmt=fmt,
        start=start,
        filename=download_filename(f"duplicates-{by}", name, fmt, fallback="export"),
        progress=request.export_progress,
    )
