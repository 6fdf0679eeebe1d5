"""The paging scan: every contact matching a search, page by page, for any consumer.

The CSV and XLSX exports and the result summary read their contacts through `contact_scan`; the
search page reads a window of a post-filtered result through `scan_window`. A scan owns:

- paging: pages of CONTACTSHIP_PAGE_SIZE, in order, stopping after a short page. A page that
  repeats contacts already seen means the upstream ignores the paging parameters
  (`PagingIgnored`). A result of more than CONTACTSHIP_MAX_EXPORT_PAGES pages fails
  (`ExportTooLarge`) rather than stop short, since a result that silently ends early would look
  complete; one of exactly that many pages is fine (the page after them is asked, and is empty).
- the calls in flight, through a call pool (`pool`: task N is page N): the first page is asked
  alone (a result of one page makes one call); then worker threads ask for the following pages
  while the consumer works on one, as many at once as `AdaptiveLimit` allows. Each call takes a
  slot of the organisation's call limit and leaves CONTACTSHIP_RESERVED_CALLS of them to page
  views.
- retries: a page's call is tried again on noise (a 500, 502, 503, 504, 429, a refused
  connection; see `retry.RetryPolicy.for_scans`) with backoff, within its deadline.
- the circuit breaker: it is consulted before the first page, and told the outcome of each page
  the scan uses, in order: each of its failed attempts, then how it ended. A speculative page
  past the end, answered or failed, is not counted.
- cancellation: `close()` (also when the consumer stops the iteration, or leaves a `with` block)
  drops the pages not yet asked for, and the threads end: idle ones at once, busy ones after the
  call they are making (`pool.CLOSE_GRACE` is how long `close` waits for them; they start
  nothing more).
- progress: pages and rows handed to the consumer, contacts read from the upstream, calls made,
  the calls in flight allowed now and the most allowed; one log line when the scan ends.
- the dashboard's own filters (`ContactQuery.matches`: country, dates, email domain, quality,
  with the organisation's `default_region` for phone numbers): each page is filtered before the
  consumer sees it, so a page may be empty while the scan goes on; paging follows the
  upstream's page lengths. `scan_window` filters contact by contact instead, so that
  it can say where in the upstream's result a window of filtered contacts ends.
- where it starts: `start` is the offset of its first page (continuing a search).
- the cap, for counts: with `stop_at_cap=True`, a result longer than the cap ends the scan after
  CONTACTSHIP_MAX_EXPORT_PAGES pages with `progress.capped` set, instead of failing.

Bulk lookups (`lookup`) use the call pool directly, with tasks of their own.
"""

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import cast

from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.upstream.adaptive import AdaptiveLimit
from contacts.upstream.attempt import Observe
from contacts.upstream.client import ContactshipClient, contactship_client, decode_json
from contacts.upstream.decode import contacts_from_json
from contacts.upstream.errors import ExportTooLarge, PagingIgnored
from contacts.upstream.organisations import Organisation
from contacts.upstream.pool import CallPool, PoolProgress

log = logging.getLogger(__name__)


@dataclass
class ScanProgress(PoolProgress):
    pages: int = 0  # handed to the consumer
    rows: int = 0
    scanned: int = 0  # contacts read from the upstream, before the dashboard's own filters
    capped: bool = False  # stopped at CONTACTSHIP_MAX_EXPORT_PAGES (only with stop_at_cap)


class Paging:
    """A scan's state, shared by the consumer's generator (`pages`) and the pool's workers,
    which hold this object and never the generator: a consumer that drops the generator
    closes it."""

    def __init__(
        self,
        *,
        client: ContactshipClient,
        organisation: Organisation,
        query: ContactQuery,
        start: int = 0,
        stop_at_cap: bool = False,
    ) -> None:
        self.client = client
        self.organisation = organisation
        self.query = query
        self.start = max(0, start)
        self.stop_at_cap = stop_at_cap
        self.page_size = client.config.page_size
        self.max_pages = client.config.max_export_pages
        self.progress = ScanProgress()
        # Failed attempts of each page that were tried again, told to the breaker with the page.
        self._retried: dict[int, list[Exception]] = {}
        self._retried_lock = threading.Lock()
        self.pool = CallPool(
            config=client.config,
            org_id=organisation.id,
            fetch=self._page,
            last=self.max_pages,
            first_alone=True,
            progress=self.progress,
        )

    def pages(self, *, filtered: bool = True) -> Iterator[list[Contact]]:
        """The pages, each passed through the dashboard's own filters unless `filtered` is
        False (then a consumer can tell each contact's offset)."""
        post_filtered = filtered and self.query.post_filtered
        for page in self._upstream_pages():
            if post_filtered:
                region = self.organisation.default_region
                page = [c for c in page if self.query.matches(c, region)]
            self.progress.pages += 1
            self.progress.rows += len(page)
            yield page

    def _upstream_pages(self) -> Iterator[list[Contact]]:
        seen: set[str] = set()
        number = 0
        try:
            self.client.breaker_check(self.organisation)
            while True:
                body = self._body(number)
                if number:
                    self.pool.ask(number + 1)  # before decoding, so the API has work meanwhile
                try:
                    page = contacts_from_json(decode_json(body))
                except Exception as exc:
                    self.client.breaker_record(self.organisation, exc)
                    raise
                self.client.breaker_record(self.organisation, None)
                ids = [c.id for c in page if c.id]
                if seen.intersection(ids):
                    self._paging_ignored(number)
                if number == self.max_pages:
                    self._past_the_cap(page)
                    return
                seen.update(ids)
                full = len(page) == self.page_size
                if number == 0 and full:
                    self.pool.ask(1)
                self.progress.scanned += len(page)
                yield page
                if not full:
                    return
                number += 1
        finally:
            self.stop()

    def _paging_ignored(self, number: int) -> None:
        offset = self.start + number * self.page_size
        log.warning(
            "paging ignored org=%s offset=%d: the page repeats contacts already "
            "seen; check CONTACTSHIP_LIMIT_PARAM/CONTACTSHIP_OFFSET_PARAM",
            self.organisation.id,
            offset,
        )
        raise PagingIgnored(f"page at offset {offset} repeats contacts")

    def _past_the_cap(self, page: list[Contact]) -> None:
        """The page after the cap: the end if it is empty, else capped or refused."""
        if not page:
            return  # exactly max_pages full pages
        if self.stop_at_cap:
            self.progress.capped = True
            log.warning(
                "scan stopped at the cap org=%s: %d pages (CONTACTSHIP_MAX_EXPORT_PAGES)",
                self.organisation.id,
                self.max_pages,
            )
            return
        log.error(
            "scan refused org=%s: more than %d pages (CONTACTSHIP_MAX_EXPORT_PAGES)",
            self.organisation.id,
            self.max_pages,
        )
        raise ExportTooLarge(f"more than {self.max_pages} pages")

    def _body(self, number: int) -> bytes:
        """Page `number`'s bytes; the breaker hears its failed attempts, then its error."""
        try:
            body = self.pool.result(number)
        except Exception as error:
            self._tell_retried(number)
            self.client.breaker_record(self.organisation, error)
            raise
        self._tell_retried(number)
        return cast(bytes, body)

    def _tell_retried(self, number: int) -> None:
        with self._retried_lock:
            retried = self._retried.pop(number, [])
        for failed in retried:
            self.client.breaker_record(self.organisation, failed)

    def _page(self, number: int, observe: Observe, stop: threading.Event) -> bytes:
        def retried(error: Exception) -> None:
            with self._retried_lock:
                self._retried.setdefault(number, []).append(error)

        return self.client.scan_page(
            organisation=self.organisation,
            query=self.query,
            offset=self.start + number * self.page_size,
            observe=observe,
            stop=stop,
            on_retry=retried,
        )

    def stop(self) -> None:
        if not self.pool.stop():
            return
        with self._retried_lock:
            self._retried.clear()
        progress = self.progress
        log.info(
            "scan end org=%s pages=%d rows=%d calls=%d in_flight=%d in_flight_peak=%d "
            "overloads=%d scanned=%d",
            self.organisation.id,
            progress.pages,
            progress.rows,
            progress.calls,
            self.pool.limit.limit,
            progress.in_flight_peak,
            self.pool.limit.overloads,
            progress.scanned,
        )


class Scan:
    """The pages of a scan (`contact_scan` makes one): iterate for the pages (lists of
    `Contact`); close when done, or use it in `with`. Dropping it unclosed ends it too."""

    def __init__(self, paging: Paging, *, filtered: bool = True) -> None:
        self._paging = paging
        self._pages = paging.pages(filtered=filtered)
        self.progress: ScanProgress = paging.progress
        self.limit: AdaptiveLimit = paging.pool.limit

    def __iter__(self) -> Iterator[list[Contact]]:
        return self

    def __next__(self) -> list[Contact]:
        return next(self._pages)

    def close(self) -> None:
        self._pages.close()
        self._paging.stop()  # also when iteration never started

    def __enter__(self) -> "Scan":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def threads_alive(self) -> int:
        return self._paging.pool.threads_alive


def contact_scan(
    *,
    organisation: Organisation,
    query: ContactQuery,
    start: int = 0,
    stop_at_cap: bool = False,
) -> Scan:
    """A scan of every contact of `organisation` matching `query`, with the current settings,
    from offset `start`."""
    paging = Paging(
        client=contactship_client(),
        organisation=organisation,
        query=query,
        start=start,
        stop_at_cap=stop_at_cap,
    )
    return Scan(paging)


def scan_window(
    *, organisation: Organisation, query: ContactQuery, start: int, size: int, budget: float
) -> tuple[list[Contact], int | None, int]:
    """Up to `size` contacts passing the dashboard's own filters, reading the upstream's pages
    from offset `start` until there are that many or `budget` seconds are spent (checked after
    each page, so a page under way is finished).

    Returns the contacts, the offset to continue from (None when the result has no more), and
    how many contacts were read from the upstream. The offset is just past the last contact
    returned when `size` were found, else just past the last page read.
    """
    paging = Paging(
        client=contactship_client(), organisation=organisation, query=query, start=start
    )
    rows: list[Contact] = []
    position = start
    deadline = time.monotonic() + budget
    with Scan(paging, filtered=False) as scan:
        for page in scan:
            full = len(page) == paging.page_size
            for index, contact in enumerate(page):
                if not query.matches(contact, organisation.default_region):
                    continue
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
