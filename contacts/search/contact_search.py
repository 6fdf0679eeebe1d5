"""One search of one organisation's contacts, read from a request once.

As Django admin's `ChangeList` is one change list: the constructor turns the query string into
the search's state (the API's filters and the dashboard's, the columns, the page or the
continuation, whether to refresh), `run` asks Contactship for its page, and every link a page
shows is built by `get_query_string` from that state plus the changes the link makes. The search
page, the contact page's way back, the summary and the exports all read a request through it.
"""

import contextvars
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import translation

from contacts.contact.columns import Columns, InvalidColumns, columns_text
from contacts.contact.query import FILTER_FIELDS, POST_FILTER_FIELDS, ContactQuery
from contacts.search.columns import picker_rows, requested_columns
from contacts.search.filters import ContactFilter
from contacts.search.paging import Page, Pager, ScanPager, continued_page, numbered_page
from contacts.search.params import (
    CHOOSE_PARAM,
    COLUMNS_PARAM,
    MAX_PAGE,
    PAGE_PARAM,
    REFRESH_PARAM,
    SEEN_PARAM,
    START_PARAM,
    VIEW_PARAM,
    WAIT_PARAM,
)
from contacts.upstream.client import ContactshipClient
from contacts.upstream.errors import DashboardError, UpstreamBadRequest
from contacts.upstream.organisations import Organisation

# The order parameters take in every link, so that one search has one address.
PARAM_ORDER = {
    name: i
    for i, name in enumerate(
        (
            *FILTER_FIELDS,
            *POST_FILTER_FIELDS,
            PAGE_PARAM,
            START_PARAM,
            SEEN_PARAM,
            COLUMNS_PARAM,
            VIEW_PARAM,
        )
    )
}
PAGING = (PAGE_PARAM, START_PARAM, SEEN_PARAM)

# The threads that ask Contactship for a page while the page around it renders
# (`run_concurrently`). A request waits for its own call only, so a busy pool delays calls, never
# blocks one for good.
PAGE_CALL_THREAD = "search-page-call"
_page_calls = ThreadPoolExecutor(max_workers=32, thread_name_prefix=PAGE_CALL_THREAD)
CALL_START_WAIT = 0.05  # seconds: a busy pool is not waited for


class ContactSearch:
    def __init__(
        self,
        data: Mapping[str, str],
        *,
        organisation: Organisation,
        path: str,
        remembered: Callable[[], Columns | None] | None = None,
        view: str = "",
    ) -> None:
        """`data` is the request's GET; `path` the address links are relative to; `remembered`
        gives the member's remembered columns, asked only when the address names none; `view`
        the slug of the saved view the search was opened from, kept in every link."""
        self.organisation = organisation
        self.view = view
        self.path = path
        self.data = data
        self.filterset = ContactFilter(data)
        self.valid = self.filterset.is_valid()
        self.query = self.filterset.qs if self.valid else ContactQuery()
        self.columns: Columns | None = None
        self.columns_error: InvalidColumns | None = None
        try:
            if remembered is not None and COLUMNS_PARAM not in data:
                self.columns = remembered()
            else:
                self.columns = requested_columns(data)
        except InvalidColumns as exc:
            self.columns_error = exc
        self.number = _whole(data, PAGE_PARAM, default=1, low=1, high=MAX_PAGE)
        self.start = _whole(data, START_PARAM, high=MAX_PAGE * 100)
        self.seen = _whole(data, SEEN_PARAM, high=MAX_PAGE * 100)
        self.refresh = REFRESH_PARAM in data
        self.wait = WAIT_PARAM in data
        self.status = 200 if self.valid and self.columns_error is None else 400
        # Pages continue from an offset when the dashboard filters the contacts itself.
        self.continued = self.status == 200 and self.query.post_filtered
        self.error: DashboardError | None = None
        self.page: Page | None = None

    # --- asking Contactship -------------------------------------------------------------------

    def run(self, client: ContactshipClient) -> None:
        """Ask for this search's page. A search Contactship refuses (400) puts its complaint on
        the form; any other failure is kept in `error` (shown in the results' place)."""
        if self.status == 200:
            try:
                if self.continued:
                    self.page = continued_page(
                        organisation=self.organisation,
                        query=self.query,
                        start=self.start,
                        seen=self.seen,
                        size=client.config.page_size,
                    )
                else:
                    self.page = numbered_page(
                        client=client,
                        organisation=self.organisation,
                        query=self.query,
                        number=self.number,
                        refresh=self.refresh,
                    )
            except UpstreamBadRequest as exc:
                self.filterset.form.add_error(None, exc.detail or str(exc.message))
                self.status = 400
            except DashboardError as exc:
                self.error, self.status = exc, exc.status
        if self.page is None:
            self.page = Page([], self._empty_pager(client.config.page_size))

    def run_concurrently(self, client: ContactshipClient) -> Future:
        """`run` on another thread, so that the caller can render what does not depend on the
        answer while Contactship works on it; the returned future ends when the page is in.
        The call runs in the caller's language and context variables (its log lines too)."""
        if self.status != 200:
            # Nothing to ask: the form or the columns already refused the search.
            self.run(client)
            done: Future = Future()
            done.set_result(None)
            return done
        language = translation.get_language()
        started = threading.Event()

        def call() -> None:
            started.set()
            with translation.override(language):
                self.run(client)

        future = _page_calls.submit(contextvars.copy_context().run, call)
        # Until the call thread runs, the caller would keep the interpreter's lock for its
        # rendering (up to a switch interval, 5 ms) and the call would leave late.
        started.wait(CALL_START_WAIT)
        return future

    def foreseen_page(self, page_size: int) -> Page | None:
        """The page a search most often gets, a full page of numbered results, for rendering
        the results region while Contactship works on the answer (the rows aside); None when
        there is nothing to foresee: a refused search, a continuation (it reads until it has a
        page or its time is up) or the column picker (its rows come from the contacts)."""
        if self.status != 200 or self.continued or self.choosing_columns:
            return None
        return Page([], Pager(number=self.number, page_size=page_size, rows=page_size))

    def _empty_pager(self, page_size: int) -> Pager | ScanPager:
        if self.continued:
            return ScanPager(start=self.start, seen=self.seen, rows=0, next_start=None, read=0)
        return Pager(number=self.number, page_size=page_size, rows=0)

    @property
    def contacts(self) -> list:
        return self.page.contacts if self.page else []

    @property
    def pager(self) -> Pager | ScanPager | None:
        return self.page.pager if self.page else None

    # --- its state, and every link from it ----------------------------------------------------

    def params(self) -> dict[str, str]:
        """This page's parameters, as its address carries them."""
        params = self.query.params()
        if self.continued:
            if self.start:
                params[START_PARAM] = str(self.start)
                params[SEEN_PARAM] = str(self.seen)
        elif self.number > 1:
            params[PAGE_PARAM] = str(self.number)
        if self.columns:
            params[COLUMNS_PARAM] = columns_text(self.columns)
        if self.view:
            params[VIEW_PARAM] = self.view
        return params

    def get_query_string(
        self, new_params: Mapping[str, object] | None = None, remove: Iterable[str] = ()
    ) -> str:
        """A link to this search with `new_params` set (None removes one) and `remove`
        removed: `?` and the parameters, or the bare path when none is left."""
        params: dict[str, str] = self.params()
        for name in remove:
            params.pop(name, None)
        for name, value in (new_params or {}).items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        ordered = sorted(
            params.items(), key=lambda item: PARAM_ORDER.get(item[0], len(PARAM_ORDER))
        )
        return "?" + urlencode(ordered) if ordered else self.path

    def page_url(self, number: int) -> str:
        return self.get_query_string({PAGE_PARAM: number if number > 1 else None})

    @property
    def next_url(self) -> str:
        pager = self.pager
        if isinstance(pager, ScanPager):
            return self.get_query_string(
                {START_PARAM: pager.next_start, SEEN_PARAM: pager.seen + pager.rows}
            )
        return self.page_url(self.number + 1)

    @property
    def previous_url(self) -> str:
        """The page before; for a continuation, its start ("From the start")."""
        if self.continued:
            return self.first_page_url
        return self.page_url(self.number - 1)

    @property
    def first_page_url(self) -> str:
        return self.get_query_string(remove=PAGING)

    @property
    def last_page_url(self) -> str:
        last = self.page.last_page if self.page else None
        return self.page_url(last) if last else ""

    @property
    def refresh_url(self) -> str:
        return self.get_query_string({REFRESH_PARAM: 1})

    @property
    def awaiting_url(self) -> str:
        """This page once Contactship has answered (`WAIT_PARAM`), asked by a page shown before
        it did; a refresh stays one."""
        return self.get_query_string({WAIT_PARAM: 1, REFRESH_PARAM: 1 if self.refresh else None})

    @property
    def choose_columns_url(self) -> str:
        return self.get_query_string({CHOOSE_PARAM: 1})

    @property
    def here_url(self) -> str:
        return self.get_query_string()

    @property
    def canonical_url(self) -> str:
        """The address bar's address: the search itself, without empty fields or "refresh"."""
        params = self.get_query_string()
        return self.path + params if params.startswith("?") else self.path

    @cached_property
    def search_query(self) -> str:
        """The whole search, filters and columns, as a saved view keeps it."""
        params = self.query.params()
        if self.columns:
            params[COLUMNS_PARAM] = columns_text(self.columns)
        return urlencode(params)

    @cached_property
    def export_query(self) -> str:
        """The whole search, for the downloads and the summary: filters and columns, no page,
        and the saved view it came from."""
        if not self.view:
            return self.search_query
        view = urlencode({VIEW_PARAM: self.view})
        return f"{self.search_query}&{view}" if self.search_query else view

    def url_for(self, view_name: str) -> str:
        """Another page of this search (the summary, a download)."""
        url = reverse(view_name, args=[self.organisation.id])
        return f"{url}?{self.export_query}" if self.export_query else url

    @property
    def summary_url(self) -> str:
        return self.url_for("contact_summary")

    @property
    def back_query(self) -> str:
        """What a contact page needs to lead back to these results: filters and page."""
        params = self.query.params()
        if self.number > 1 and not self.continued:
            params[PAGE_PARAM] = str(self.number)
        return urlencode(params)

    def search_url(self, **narrow: str) -> str:
        """The search page of this search's filters narrowed by `narrow` (the summary's links)."""
        params = {**self.query.params(), **narrow}
        url = reverse("contact_list", args=[self.organisation.id])
        return url + (f"?{urlencode(params)}" if params else "")

    # --- what the page shows ------------------------------------------------------------------

    @property
    def choosing_columns(self) -> bool:
        return CHOOSE_PARAM in self.data or self.columns_error is not None

    @cached_property
    def picker(self) -> list[dict]:
        """The column picker's rows; only a page that shows the picker asks for them."""
        return picker_rows(self.columns, self.contacts)

    @property
    def columns_param(self) -> str:
        return columns_text(self.columns) if self.columns else ""

    @property
    def shown_search(self) -> str:
        """The search these results are for, as typed in the form (and the form's hidden
        columns and view): the page's script holds the downloads and the paging back while the form
        says something else."""
        typed = {
            name: self.data[name].strip()
            for name in self.filterset.form.fields
            if self.data.get(name, "").strip()
        }
        if self.columns:
            typed[COLUMNS_PARAM] = columns_text(self.columns)
        if self.view:
            typed[VIEW_PARAM] = self.view
        return json.dumps(typed)


def _whole(data: Mapping[str, str], name: str, *, default: int = 0, low: int = 0, high: int) -> int:
    """A whole-number parameter within [low, high]; `default` when it is not one."""
    try:
        number = int(data.get(name, default))
    except ValueError:
        return default
    return min(max(number, low), high)
