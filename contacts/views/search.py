"""The search page and the home page: parse the request into a `ContactSearch`, run it, render."""

from concurrent.futures import Future
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django_htmx.http import push_url

from contacts.access import accessible_organisations, organisation_member_required
from contacts.contact.columns import CONTACT_COLUMNS
from contacts.errors import set_retry_after
from contacts.middleware import log_error_shown
from contacts.saved import may_change, request_search, visible_to
from contacts.search.columns import columns_chosen
from contacts.search.contact_search import ContactSearch
from contacts.search.paging import Page
from contacts.search.tables import ContactTable
from contacts.upstream.client import contactship_client

PAGE, RESULTS = "contacts/contact_list.html", "contacts/results.html"
# Where the results go in a frame rendered before they came (nothing typed can make it: every
# value in a page is escaped).
RESULTS_MARK = mark_safe("<!--search-results-->")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    accesses = accessible_organisations(request.user)
    if len(accesses) == 1:
        return redirect("contact_list", accesses[0].organisation.id)
    return render(request, "contacts/home.html", {"accesses": accesses})


@organisation_member_required()
def contact_list(request: HttpRequest, org_id: str) -> HttpResponse:
    if request.method == "POST":
        # The column picker's form: remember the choice, then to the address that shows it.
        params = columns_chosen(user=request.user, organisation_id=org_id, data=request.POST)
        query = f"?{urlencode(params)}" if params else ""
        return HttpResponseRedirect(request.path + query, status=303)
    search = request_search(request, remember=True)
    # Contactship is asked first: the page is made while it works on the answer.
    client = contactship_client()
    answer = search.run_concurrently(client)
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "search": search,
        "filter": search.filterset,
        "filter_seconds": f"{settings.DASHBOARD_FILTER_PAGE_SECONDS:g}",
        "contact_columns": CONTACT_COLUMNS,
        **_saved_views(request, search),
    }
    # Typing in the filters (htmx) asks for the results region only; everything else, including
    # a plain form submission and a reload of a pushed URL, gets the whole page.
    partial = bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request
    html = _page_html(
        request, search, context, answer, partial=partial, page_size=client.config.page_size
    )
    if html is None:
        # Contactship is slow: the page now, in its "Asking Contactship…" state; it asks for its
        # results by itself. Whatever the call leaves behind is not this answer's.
        return _vary(HttpResponse(_awaiting_page(request, search, context)))
    if search.error is not None:
        # Shown in the results' place: the form and its filters stay.
        log_error_shown(request, search.error, org_id)
    response = _vary(HttpResponse(html, status=search.status))
    if search.error is not None:
        set_retry_after(response, search.error.retry_after)
    if partial:
        _htmx_headers(request, response, search)
    return response


def _vary(response: HttpResponse) -> HttpResponse:
    # The same URL answers a fragment or a page: caches (and the browser's back button) must not
    # hand out one for the other.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _saved_views(request: HttpRequest, search: ContactSearch) -> dict:
    """The views the person may open, the one shown, and whether the search still matches it."""
    view = search.saved_view
    return {
        "saved_views": visible_to(request.user, request.organisation.id),
        "saved_view": view,
        "view_differs": view is not None and view.query != search.search_query,
        "may_change_view": view is not None and may_change(request.user, view.owner_id),
    }


def _page_html(
    request: HttpRequest,
    search: ContactSearch,
    context: dict,
    answer: Future,
    *,
    partial: bool,
    page_size: int,
) -> str | None:
    """The whole page, or the results region alone (`partial`).

    What does not depend on the answer is rendered while Contactship works on it: the page's
    frame, the table's header row, and the results region as it reads for a full page of rows
    (`ContactSearch.foreseen_page`), which is the usual answer. Once the answer is in, only its
    rows are written into it; an answer of another shape has its results region rendered
    again, and a search that fails or is refused its whole page, since its title and form say
    so. None when a whole page's answer takes longer than DASHBOARD_FIRST_PAINT_SECONDS (and
    the request does not say to wait): the page is then shown without it (`_awaiting_page`).
    """
    asking = search.status == 200
    table = ContactTable(
        [],
        organisation_id=search.organisation.id,
        back_query=search.back_query,
        columns=search.columns,
    )
    frame = foreseen_html = table_frame = ""
    foreseen = search.foreseen_page(page_size)
    if asking:
        if not partial:
            frame = render_to_string(PAGE, {**context, "results_html": RESULTS_MARK}, request)
        table_frame = table.frame_html(request)
        if foreseen is not None:
            foreseen_html = _results_html(request, context, foreseen, table_frame)
    waits = partial or search.wait or not asking
    try:
        answer.result(timeout=None if waits else settings.DASHBOARD_FIRST_PAINT_SECONDS)
    except TimeoutError:
        return None
    page = search.page
    if search.status != 200 and not partial:
        return render_to_string(PAGE, {**context, "page": page, "pager": page.pager}, request)
    if foreseen_html and search.status == 200 and page.shown_as(foreseen):
        results = table.with_rows(foreseen_html, page.contacts)
    else:
        rows = table.with_rows(table_frame, page.contacts) if page.contacts else ""
        results = _results_html(request, context, page, rows)
    return frame.replace(RESULTS_MARK, results, 1) if frame else results


def _results_html(request: HttpRequest, context: dict, page: Page, table_html: str) -> str:
    context = {**context, "page": page, "pager": page.pager, "table_html": table_html}
    return render_to_string(RESULTS, context, request)


def _awaiting_page(request: HttpRequest, search: ContactSearch, context: dict) -> str:
    """The page whose results region asks for the results itself (htmx, on load), or, without a
    script, whose browser asks for the whole page again, told to wait."""
    return render_to_string(PAGE, {**context, "awaiting_url": search.awaiting_url}, request)


def _htmx_headers(request: HttpRequest, response: HttpResponse, search: ContactSearch) -> None:
    # The address bar shows the search itself, without empty fields or "refresh"; the results
    # of a page shown before them already have their address.
    if not search.wait:
        shown = search.canonical_url if search.status == 200 else request.get_full_path()
        push_url(response, shown)
    if search.status == 400 and not search.filterset.form.non_field_errors():
        # A field error while typing: the errors go next to their fields (out of band) and the
        # results on screen stay (marked as for an earlier search) instead of vanishing.
        response["HX-Reswap"] = "none"
    if search.error is not None:
        # htmx sends error statuses to the whole page (base.html); this one is the results.
        response["HX-Retarget"] = "#results"
        response["HX-Reswap"] = "innerHTML"
        response["HX-Reselect"] = "unset"
