"""The search page and the home page."""

import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.http import push_url

from contacts.access import accessible_organisations, organisation_member_required
from contacts.contact.columns import (
    CONTACT_COLUMNS,
    Columns,
    InvalidColumns,
    columns_text,
    data_key,
    parse_columns,
)
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact, additional_field_names
from contacts.errors import set_retry_after
from contacts.middleware import log_error_shown
from contacts.models import ColumnChoice
from contacts.search.filters import ContactFilter
from contacts.search.tables import ContactTable, column_header
from contacts.upstream.client import contactship_client
from contacts.upstream.errors import DashboardError, UpstreamBadRequest
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import contact_scan

log = logging.getLogger(__name__)


PAGE_PARAM = "page"
# With the dashboard's own filters, a page continues from an upstream offset instead of a number:
# START_PARAM is the offset of the next contact to read, SEEN_PARAM the rows shown before.
START_PARAM = "start"
SEEN_PARAM = "seen"
REFRESH_PARAM = "refresh"
BOM_PARAM = "bom"  # ?bom=0: plain UTF-8 CSV, for tools that do not expect a byte order mark
# The chosen columns, in order (contacts.contact.columns); empty: the default ones.
COLUMNS_PARAM = "columns"
# The column picker's plain form: the keys in the picker's order, the ticked ones, a move
# ("up:<key>"/"down:<key>") and an additional-data field typed by name.
PICK_PARAM, PICK_ORDER, PICK_SHOWN, PICK_MOVE, PICK_ADD = "pick", "order", "shown", "move", "add"
RESET_PARAM = "reset"
FORM_ONLY = ("csrfmiddlewaretoken", RESET_PARAM)
# ?choose_columns=1: the page with the picker open (it is left out of other pages, so that its
# many labels do not crowd the page, nor a screen reader's list of form fields).
CHOOSE_PARAM = "choose_columns"
PICKER_PARAMS = (
    PICK_PARAM,
    PICK_ORDER,
    PICK_SHOWN,
    PICK_MOVE,
    PICK_ADD,
    COLUMNS_PARAM,
    CHOOSE_PARAM,
)
# Far beyond any real result; keeps the offset sent upstream a sane number.
MAX_PAGE = 100_000
# Finding the last page with rows behind a page past the end: a binary search over at most
# MAX_PAGE pages takes 17 probes, each a cached API page.
MAX_END_PROBES = 20


def search_params(
    query: ContactQuery, number: int, columns: Columns | None = None
) -> dict[str, str]:
    """The GET parameters of one page of one search, as they appear in its URL."""
    params = query.params()
    if number > 1:
        params[PAGE_PARAM] = str(number)
    if columns:
        params[COLUMNS_PARAM] = columns_text(columns)
    return params


def _requested_columns(request: HttpRequest) -> Columns | None:
    """`columns=` of the request; None when absent or empty. Raises `InvalidColumns`."""
    return parse_columns(request.GET.get(COLUMNS_PARAM, ""))


def _page_columns(request: HttpRequest, org_id: str) -> Columns | None:
    """The search page's columns: the URL's; without `columns=`, the user's remembered choice
    for this organisation. Raises `InvalidColumns` for a URL naming something that is no column.
    Only the picker's form (a POST) changes the remembered choice, never an address."""
    if COLUMNS_PARAM not in request.GET:
        stored = (
            ColumnChoice.objects.filter(user=request.user, organisation_id=org_id)
            .values_list("columns", flat=True)
            .first()
        )
        try:
            return parse_columns(stored or "")
        except InvalidColumns:
            return None  # remembered under older rules: the default rather than an error
    return _requested_columns(request)


def _columns_chosen(request: HttpRequest, org_id: str) -> HttpResponse:
    """The column picker's form: remember the choice (or forget it, "Reset columns"), then to
    the address of the chosen columns. A POST with the CSRF token, so that no link from another
    site can change what someone's search page shows."""
    data = request.POST
    params = [(k, v) for k, v in data.items() if k not in PICKER_PARAMS and k not in FORM_ONLY]
    choices = ColumnChoice.objects.filter(user=request.user, organisation_id=org_id)
    if RESET_PARAM in data:
        choices.delete()
        return HttpResponseRedirect(
            request.path + (f"?{urlencode(params)}" if params else ""), status=303
        )
    picked = _picked_columns(data)
    params.append((COLUMNS_PARAM, picked))
    if data.get(PICK_MOVE):
        params.append((CHOOSE_PARAM, "1"))  # moving one at a time: the picker stays open
    try:
        columns = parse_columns(picked)
    except InvalidColumns:
        columns = None  # not remembered: the address shows the error and the valid names
    else:
        if columns is None:
            choices.delete()
        else:
            ColumnChoice.objects.update_or_create(
                user=request.user, organisation_id=org_id, defaults={"columns": picked}
            )
    return HttpResponseRedirect(request.path + "?" + urlencode(params), status=303)


def _picked_columns(data: QueryDict) -> str:
    """The column picker's form (works without JavaScript) -> the `columns=` it asks for."""
    order = [key for key in data.getlist(PICK_ORDER) if key]
    shown = set(data.getlist(PICK_SHOWN))
    added = data.get(PICK_ADD, "").strip()
    if added:
        key = data_key(added)
        if key not in order:
            order.append(key)
        shown.add(key)
    direction, _, moved = data.get(PICK_MOVE, "").partition(":")
    if moved in order:
        # A shown column moves past the next shown one (hidden ones in between change nothing
        # on screen); a hidden one past its neighbour.
        here = order.index(moved)
        step = -1 if direction == "up" else 1
        there = here + step
        while moved in shown and 0 <= there < len(order) and order[there] not in shown:
            there += step
        if 0 <= there < len(order):
            order[here], order[there] = order[there], order[here]
    return columns_text(key for key in order if key in shown)


def _picker(table_columns: Columns | None, contacts: list) -> list[dict]:
    """The picker's rows: the columns shown, in order, then the others this page can show (the
    contact fields, and the additional-data fields of the contacts on screen)."""
    shown = list(table_columns or DEFAULT_TABLE_COLUMNS)
    available = [*CONTACT_COLUMNS, *map(data_key, additional_field_names(contacts))]
    keys = shown + [key for key in available if key not in shown]
    return [
        {
            "key": key,
            "label": column_header(key),
            "shown": key in shown,
            "first": i == 0,
            "last": i == len(keys) - 1,
        }
        for i, key in enumerate(keys)
    ]


# What the table shows without a choice (and its additional-data preview column, which is no
# field and so not in the picker).
DEFAULT_TABLE_COLUMNS: Columns = (
    "full_name",
    "email",
    "phone_number",
    "country",
    "created_at",
    "description",
)


@dataclass(frozen=True, slots=True)
class Pager:
    """Previous/Next over the API's pages: it gives no total, so there are no page numbers."""

    number: int
    page_size: int
    rows: int
    query: ContactQuery
    continued = False  # numbered pages, not a continuation (see ScanPager)

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + self.rows - 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        # A full page may be followed by more; the API cannot say without being asked.
        return self.rows >= self.page_size

    columns: Columns | None = None

    def url(self, number: int) -> str:
        return "?" + urlencode(search_params(self.query, number, self.columns))

    @property
    def previous_url(self) -> str:
        return self.url(self.number - 1)

    @property
    def next_url(self) -> str:
        return self.url(self.number + 1)


@dataclass(frozen=True, slots=True)
class ScanPager:
    """Continuation over a search the dashboard filters itself: each page reads the API's pages
    from `start` until it has a page of rows or its time budget is spent, and the next page
    continues from where it stopped (`next_start`), never from the beginning again."""

    start: int
    seen: int
    rows: int
    next_start: int | None
    read: int  # contacts read upstream for this page
    query: ContactQuery
    columns: Columns | None = None
    continued = True

    def _params(self) -> dict[str, str]:
        return search_params(self.query, 1, self.columns)

    @property
    def number(self) -> int:
        return 1

    @property
    def first_row(self) -> int:
        return self.seen + 1

    @property
    def last_row(self) -> int:
        return self.seen + self.rows

    @property
    def has_previous(self) -> bool:
        return self.start > 0

    @property
    def has_next(self) -> bool:
        return self.next_start is not None

    def url(self, number: int) -> str:
        """A continuation has no page numbers: any page is read from the start."""
        return "?" + urlencode(self._params())

    @property
    def previous_url(self) -> str:
        return self.url(1)

    @property
    def next_url(self) -> str:
        params = {
            **self._params(),
            START_PARAM: str(self.next_start),
            SEEN_PARAM: str(self.seen + self.rows),
        }
        return "?" + urlencode(params)


def _whole_param(request: HttpRequest, name: str) -> int:
    try:
        return min(max(int(request.GET.get(name, "0")), 0), MAX_PAGE * 100)
    except ValueError:
        return 0


def filtered_page(
    *, organisation: Organisation, query: ContactQuery, start: int, size: int, budget: float
) -> tuple[list[Contact], int | None, int]:
    """Up to `size` contacts passing the dashboard's filters, reading the API's pages from
    offset `start` with the scan engine until there are enough or `budget` seconds are spent.

    Returns the contacts, the offset to continue from (None at the end) and how many were read.
    """
    rows: list[Contact] = []
    position = start
    deadline = time.monotonic() + budget
    upstream_size = settings.CONTACTSHIP_PAGE_SIZE
    with contact_scan(organisation=organisation, query=query, start=start, raw=True) as scan:
        for page in scan:
            full = len(page) == upstream_size
            for index, contact in enumerate(page):
                if query.matches(contact):
                    rows.append(contact)
                    if len(rows) == size:
                        after = position + index + 1
                        at_end = not full and index == len(page) - 1
                        return rows, None if at_end else after, after - start
            position += len(page)
            if not full:
                break
            if time.monotonic() >= deadline:
                return rows, position, position - start
    return rows, None, position - start


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get(PAGE_PARAM, "1"))
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    accesses = accessible_organisations(request.user)
    if len(accesses) == 1:
        return redirect("contact_list", accesses[0].organisation.id)
    return render(request, "contacts/home.html", {"accesses": accesses})


def _last_page_with_rows(list_page, empty: int) -> int:
    """The last page that has rows, below `empty`, a page that has none; 0 if none has.

    The API gives no count: a binary search over the pages, which fill up from the first.
    """
    if not list_page(1):
        return 0
    low, high = 1, empty  # low has rows, high has none
    for _ in range(MAX_END_PROBES):
        if high - low <= 1:
            break
        middle = (low + high) // 2
        if list_page(middle):
            low = middle
        else:
            high = middle
    return low


def _repeats_previous_page(list_page, number: int, contacts: list) -> bool:
    """Whether page `number` holds contacts of the page before: the upstream ignores paging."""
    if number <= 1 or not contacts:
        return False
    before = {c.id for c in list_page(number - 1) if c.id}
    return any(c.id in before for c in contacts)


def _inline_error(request: HttpRequest, org_id: str, exc: DashboardError) -> DashboardError:
    """Log an error the search page shows in its results' place (the form and filters stay)."""
    log_error_shown(request, exc, org_id)
    return exc


@organisation_member_required()
def contact_list(request: HttpRequest, org_id: str) -> HttpResponse:
    if request.method == "POST":
        return _columns_chosen(request, org_id)
    columns_error = None
    try:
        columns = _page_columns(request, org_id)
    except InvalidColumns as exc:
        columns, columns_error = None, exc
    filterset = ContactFilter(request.GET)
    client = contactship_client()
    number = _page_number(request)
    contacts = []
    status = 200
    query = ContactQuery()
    error = None
    last_page = None  # on a page past the end: the last page that has rows (0: none has)
    paging_ignored = False
    pager: Pager | ScanPager | None = None
    if not filterset.is_valid() or columns_error is not None:
        status = 400
        if filterset.is_valid():
            query = filterset.qs
    elif filterset.qs.post_filtered:
        query = filterset.qs
        start, seen = _whole_param(request, START_PARAM), _whole_param(request, SEEN_PARAM)
        try:
            contacts, next_start, read = filtered_page(
                organisation=request.organisation,
                query=query,
                start=start,
                size=client.config.page_size,
                budget=settings.DASHBOARD_FILTER_PAGE_SECONDS,
            )
        except UpstreamBadRequest as exc:
            filterset.form.add_error(None, exc.detail or str(exc.message))
            contacts, next_start, read, status = [], None, 0, 400
        except DashboardError as exc:
            error, status = _inline_error(request, org_id, exc), exc.status
            contacts, next_start, read = [], None, 0
        pager = ScanPager(
            start=start,
            seen=seen,
            rows=len(contacts),
            next_start=next_start,
            read=read,
            query=query,
            columns=columns,
        )
    else:
        query = filterset.qs

        def list_page(page: int, refresh: bool = False) -> list:
            return client.contact_list(
                organisation=request.organisation,
                query=query,
                offset=(page - 1) * client.config.page_size,
                refresh=refresh,
            )

        try:
            contacts = list_page(number, refresh=REFRESH_PARAM in request.GET)
            if not contacts and number > 1:
                last_page = _last_page_with_rows(list_page, number)
            elif _repeats_previous_page(list_page, number, contacts):
                # Showing them as rows 101-200 would pass the first page off as the second.
                log.warning(
                    "paging ignored org=%s page=%d: the page repeats the previous page's "
                    "contacts; check CONTACTSHIP_LIMIT_PARAM/CONTACTSHIP_OFFSET_PARAM",
                    org_id,
                    number,
                )
                paging_ignored = True
                contacts = []
        except UpstreamBadRequest as exc:
            filterset.form.add_error(None, exc.detail or str(exc.message))
            status = 400
        except DashboardError as exc:
            error, status, contacts = _inline_error(request, org_id, exc), exc.status, []
    if not isinstance(pager, ScanPager):
        pager = Pager(
            number=number,
            page_size=client.config.page_size,
            rows=len(contacts),
            query=query,
            columns=columns,
        )
    here = search_params(query, number, columns)
    if isinstance(pager, ScanPager) and pager.start:
        here = {
            **query.params(),
            START_PARAM: str(pager.start),
            SEEN_PARAM: str(pager.seen),
            **({COLUMNS_PARAM: columns_text(columns)} if columns else {}),
        }
    table = ContactTable(
        contacts,
        organisation_id=org_id,
        back_query=urlencode(search_params(query, number)),
        columns=columns,
    )
    export_params = query.params()
    if columns:
        export_params[COLUMNS_PARAM] = columns_text(columns)
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "filter": filterset,
        "table": table,
        "pager": pager,
        "query": query,
        "filter_seconds": f"{settings.DASHBOARD_FILTER_PAGE_SECONDS:g}",
        "failed": status != 200,
        "error": error,
        "last_page": last_page,
        "last_page_url": pager.url(last_page) if last_page else "",
        "first_page_url": pager.url(1) if query else request.path,
        "paging_ignored": paging_ignored,
        "columns_error": columns_error,
        "contact_columns": CONTACT_COLUMNS,
        "columns_param": columns_text(columns) if columns else "",
        "picker": _picker(columns, contacts),
        "choosing_columns": CHOOSE_PARAM in request.GET or columns_error is not None,
        "choose_columns_query": urlencode({**here, CHOOSE_PARAM: "1"}),
        "close_columns_query": urlencode(here),
        # The search these results are for, as typed in the form: the page's script holds the
        # downloads and the paging back while the form says something else.
        "shown_search": json.dumps(
            {
                name: request.GET[name].strip()
                for name in filterset.form.fields
                if request.GET.get(name, "").strip()
            }
            # and the form's hidden `columns`, as the page shows them
            | ({COLUMNS_PARAM: columns_text(columns)} if columns else {})
        ),
        "export_query": urlencode(export_params),
        "refresh_query": urlencode({**here, REFRESH_PARAM: "1"}),
    }
    # Typing in the filters (htmx) asks for the results region only; everything else, including
    # a plain form submission and a reload of a pushed URL, gets the whole page.
    partial = bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request
    template = "contacts/results.html" if partial else "contacts/contact_list.html"
    response = render(request, template, context, status=status)
    # The same URL answers a fragment or a page: caches (and the browser's back button) must not
    # hand out one for the other.
    patch_vary_headers(response, ["HX-Request"])
    if error is not None:
        set_retry_after(response, error.retry_after)
    # Contacts: never kept by a shared cache, nor by the browser on disk.
    patch_cache_control(response, private=True, no_store=True)
    if partial:
        # The address bar shows the search itself, without empty fields or "refresh".
        canonical = request.path + (f"?{urlencode(here)}" if here else "")
        push_url(response, canonical if status == 200 else request.get_full_path())
        if status == 400 and not filterset.form.non_field_errors():
            # A field error while typing: the errors go next to their fields (out of band) and
            # the results on screen stay (marked as for an earlier search) instead of vanishing.
            response["HX-Reswap"] = "none"
        if error is not None:
            # htmx sends error statuses to the whole page (base.html); this one is the results.
            response["HX-Retarget"] = "#results"
            response["HX-Reswap"] = "innerHTML"
            response["HX-Reselect"] = "unset"
    return response
