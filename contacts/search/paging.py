"""Paging a search whose API gives no total count.

Two kinds of page: numbered pages of the API's own (Previous/Next, no page numbers to jump to),
and, when the dashboard filters the contacts itself, a continuation that reads the API's pages
from an offset until it has a page of rows or its time budget is spent (Continue / From the
start). Links are the search object's business (`ContactSearch`); these hold the numbers.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.upstream.client import ContactshipClient
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import scan_window

log = logging.getLogger(__name__)

# Finding the last page with rows behind a page past the end: a binary search over at most
# MAX_PAGE pages takes 17 probes, each a cached API page.
MAX_END_PROBES = 20


@dataclass(frozen=True, slots=True)
class Pager:
    """Previous/Next over the API's pages: it gives no total, so there are no page numbers."""

    number: int
    page_size: int
    rows: int
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
    continued = True
    number = 1

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


@dataclass(slots=True)
class Page:
    """One page of a search: its contacts, its pager, and what the page says past the end."""

    contacts: list[Contact]
    pager: Pager | ScanPager
    last_page: int | None = None  # past the end: the last page that has rows (0: none has)
    paging_ignored: bool = False  # the upstream answered a later page with the first one's rows

    def shown_as(self, other: "Page") -> bool:
        """Whether the results region says the same of both pages, the rows aside."""
        return (
            self.pager == other.pager
            and self.last_page == other.last_page
            and self.paging_ignored == other.paging_ignored
        )


def numbered_page(
    *,
    client: ContactshipClient,
    organisation: Organisation,
    query: ContactQuery,
    number: int,
    refresh: bool = False,
) -> Page:
    """Page `number` of the API's own pages; past the end, where the results end."""
    size = client.config.page_size

    def list_page(page: int, refresh: bool = False) -> list[Contact]:
        return client.contact_list(
            organisation=organisation, query=query, offset=(page - 1) * size, refresh=refresh
        )

    contacts = list_page(number, refresh=refresh)
    page = Page(contacts, Pager(number=number, page_size=size, rows=len(contacts)))
    if not contacts and number > 1:
        page.last_page = _last_page_with_rows(list_page, number)
    elif _repeats_previous_page(list_page, number, contacts):
        # Showing them as rows 101-200 would pass the first page off as the second.
        log.warning(
            "paging ignored org=%s page=%d: the page repeats the previous page's contacts; "
            "check CONTACTSHIP_LIMIT_PARAM/CONTACTSHIP_OFFSET_PARAM",
            organisation.id,
            number,
        )
        page = Page([], Pager(number=number, page_size=size, rows=0), paging_ignored=True)
    return page


def continued_page(
    *, organisation: Organisation, query: ContactQuery, start: int, seen: int, size: int
) -> Page:
    """A page of a search the dashboard filters itself, continuing from offset `start`."""
    contacts, next_start, read = scan_window(
        organisation=organisation,
        query=query,
        start=start,
        size=size,
        budget=settings.DASHBOARD_FILTER_PAGE_SECONDS,
    )
    pager = ScanPager(start=start, seen=seen, rows=len(contacts), next_start=next_start, read=read)
    return Page(contacts, pager)


def _last_page_with_rows(list_page: Callable[[int], list], empty: int) -> int:
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


def _repeats_previous_page(list_page: Callable[[int], list], number: int, contacts: list) -> bool:
    """Whether page `number` holds contacts of the page before: the upstream ignores paging."""
    if number <= 1 or not contacts:
        return False
    before = {c.id for c in list_page(number - 1) if c.id}
    return any(c.id in before for c in contacts)
