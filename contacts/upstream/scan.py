"""The scan engine: every contact matching a search, page by page, for any consumer.

The CSV and XLSX exports read their contacts through it; a result summary and bulk lookups are
meant to. A scan owns:

- paging: pages of CONTACTSHIP_PAGE_SIZE, in order, stopping after a short page. A page that
  repeats contacts already seen means the upstream ignores the paging parameters
  (`PagingIgnored`). A result of more than CONTACTSHIP_MAX_EXPORT_PAGES pages fails
  (`ExportTooLarge`) rather than stop short, since a result that silently ends early would look
  complete; one of exactly that many pages is fine (the page after them is asked, and is empty).
- the calls in flight: the first page is asked alone (a result of one page makes one call); then
  worker threads ask for the following pages while the consumer works on one, as many at once as
  `AdaptiveLimit` allows. Each call takes a slot of the organisation's call limit and leaves
  CONTACTSHIP_RESERVED_CALLS of them to page views.
- retries: a page's call is tried again on noise (a 500, 502, 503, 504, 429, a refused
  connection; see `client.RetryPolicy.for_scans`) with backoff, within its deadline.
- the circuit breaker: it is consulted before the first page, and told the outcome of each page
  the scan uses, in order: each of its failed attempts, then how it ended. A speculative page
  past the end, answered or failed, is not counted.
- cancellation: `close()` (also when the consumer stops the iteration, or leaves a `with` block)
  drops the pages not yet asked for, and the threads end: idle ones at once, busy ones after the
  call they are making (CLOSE_GRACE is how long `close` waits for them; they start nothing more).
- progress: pages and rows handed to the consumer, contacts read from the upstream, calls made,
  the calls in flight allowed now and the most allowed; one log line when the scan ends.
- the dashboard's own filters (`ContactQuery.matches`: country, dates, email domain): each page
  is filtered before the consumer sees it, so a page may be empty while the scan goes on; paging
  follows the upstream's page lengths. `raw=True` hands the pages unfiltered (a consumer that needs
  each contact's position, such as the search page's continuation).
- where it starts: `start` is the offset of its first page (continuing a search).
- the cap, for counts: with `stop_at_cap=True`, a result longer than the cap ends the scan after
  CONTACTSHIP_MAX_EXPORT_PAGES pages with `progress.capped` set, instead of failing.

The engine's calls are numbered tasks: for a scan, task N is page N. Bulk lookups (`lookup`) run
the same engine over other tasks (one contact per identifier), with the same call limit,
adaptive concurrency, read-ahead bound and cancellation; only the paging above is the scan's own.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.upstream.adaptive import AdaptiveLimit, Answer
from contacts.upstream.client import ContactshipClient, contactship_client, decode_json
from contacts.upstream.decode import contacts_from_json
from contacts.upstream.errors import ExportTooLarge, PagingIgnored
from contacts.upstream.limit import slots_to_fill
from contacts.upstream.organisations import Organisation

log = logging.getLogger(__name__)

CLOSE_GRACE = 1.0  # seconds `close` waits for workers still in a call
THREAD_NAME = "contactship-scan"

# A task's call, run by a worker: (task number, the limit's `observe`, the stop event) -> result.
Fetch = Callable[[int, Callable[[Answer, float, float | None], None], threading.Event], object]


@dataclass
class ScanProgress:
    pages: int = 0  # handed to the consumer
    rows: int = 0
    scanned: int = 0  # contacts read from the upstream, before the dashboard's own filters
    capped: bool = False  # stopped at CONTACTSHIP_MAX_EXPORT_PAGES (only with stop_at_cap)
    calls: int = 0  # pages handed to the workers, speculative ones included
    in_flight: int = 0  # calls in flight allowed now
    in_flight_peak: int = 0
    overloads: int = 0  # answers that asked for less (429, 503, 504, timeouts)


class Scan:
    """The pages of an `Engine` scanning a query (`contact_scan` makes one). Iterate for the pages
    (lists of `Contact`); close when done, or use it in `with`.

    A consumer that drops a scan without closing it ends it too: the worker threads hold only
    the engine, never the scan or its generator, so dropping the scan closes the generator.
    """

    def __init__(self, engine: "Engine") -> None:
        self._engine = engine
        self._pages = self._engine.run()
        self.progress = self._engine.progress
        self.limit = self._engine.limit

    def __iter__(self) -> Iterator[list[Contact]]:
        return self

    def __next__(self) -> list[Contact]:
        return next(self._pages)

    def close(self) -> None:
        self._pages.close()
        self._engine.stop()  # also when iteration never started

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
        return sum(thread.is_alive() for thread in self._engine.threads)


class Engine:
    """The scan's state, shared by the consumer's generator (`run`) and the worker threads.

    Without `fetch`, the tasks are the pages of `query` (at most max_pages + 1 of them, the
    first asked alone). With `fetch` and `tasks`, they are tasks 0 .. tasks - 1 of the caller's
    (see `lookup`), asked as the limit allows from the start; the caller reads each with
    `answer(number)`, in order.
    """

    def __init__(
        self,
        *,
        client: ContactshipClient,
        organisation: Organisation,
        query: ContactQuery | None = None,
        start: int = 0,
        raw: bool = False,
        stop_at_cap: bool = False,
        fetch: Fetch | None = None,
        tasks: int = 0,
        kind: str = "scan",
    ) -> None:
        config = client.config
        self.client = client
        self.organisation = organisation
        self.query = query or ContactQuery()
        self.start = max(0, start)
        self.post_filtered = self.query.post_filtered and not raw
        self.stop_at_cap = stop_at_cap
        self.kind = kind
        self.page_size = config.page_size
        self.max_pages = config.max_export_pages
        self.fetch: Fetch = fetch or self._page
        self.last_task = self.max_pages if fetch is None else tasks - 1
        self.first_alone = fetch is None
        maximum = config.scan_calls_max
        if config.max_concurrent_calls > 0:
            reserve = config.reserved_calls
            maximum = min(maximum, slots_to_fill(config.max_concurrent_calls, reserve))
        self.limit = AdaptiveLimit(start=config.scan_calls_start, maximum=maximum)
        self.progress = ScanProgress(in_flight=self.limit.limit, in_flight_peak=self.limit.limit)
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._todo: deque[int] = deque()  # pages to ask for, for the workers
        self._results: dict[int, tuple[object, Exception | None]] = {}
        # Failed attempts of each page that were tried again, told to the breaker with the page.
        self._retried: dict[int, list[Exception]] = {}
        self._asked = 0  # pages handed to the workers so far: 0 .. _asked - 1
        self._outstanding = 0  # of those, the ones without a result yet
        self._idle = 0  # workers waiting for a page
        self.threads: list[threading.Thread] = []

    # --- the consumer's side ----------------------------------------------------------------

    def run(self) -> Iterator[list[Contact]]:
        seen: set[str] = set()
        number = 0
        try:
            self.client.breaker_check(self.organisation)
            while True:
                body = self.answer(number)
                if number:
                    self._ask(number + 1)  # before decoding, so the API has work meanwhile
                try:
                    page = contacts_from_json(decode_json(body))
                except Exception as exc:
                    self.client.breaker_record(self.organisation, exc)
                    raise
                self.client.breaker_record(self.organisation, None)
                ids = [c.id for c in page if c.id]
                if seen.intersection(ids):
                    offset = self.start + number * self.page_size
                    log.warning(
                        "paging ignored org=%s offset=%d: the page repeats contacts already "
                        "seen; check CONTACTSHIP_LIMIT_PARAM/CONTACTSHIP_OFFSET_PARAM",
                        self.organisation.id,
                        offset,
                    )
                    raise PagingIgnored(f"page at offset {offset} repeats contacts")
                if number == self.max_pages:
                    if not page:
                        return  # exactly max_pages full pages
                    if self.stop_at_cap:
                        self.progress.capped = True
                        log.warning(
                            "scan stopped at the cap org=%s: %d pages "
                            "(CONTACTSHIP_MAX_EXPORT_PAGES)",
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
                seen.update(ids)
                if number == 0 and len(page) == self.page_size:
                    self._ask(1)
                full = len(page) == self.page_size
                self.progress.scanned += len(page)
                if self.post_filtered:
                    page = [c for c in page if self.query.matches(c)]
                self.progress.pages += 1
                self.progress.rows += len(page)
                yield page
                if not full:
                    return
                number += 1
        finally:
            self.stop()

    def answer(self, number: int) -> object:
        """Task `number`'s result (a page's bytes), asking for tasks as the limit allows while
        it waits; its error, if it failed, is raised."""
        with self._changed:
            self._ask_locked(number)
            while number not in self._results:
                pause = self.limit.pause()
                self._changed.wait(timeout=pause or None)
                self._ask_locked(number)
            body, error = self._results.pop(number)
            retried = self._retried.pop(number, [])
        for failed in retried:
            self.client.breaker_record(self.organisation, failed)
        if error is not None:
            self.client.breaker_record(self.organisation, error)
            raise error
        return body

    def _ask(self, needed: int) -> None:
        with self._changed:
            self._ask_locked(needed)

    def _ask_locked(self, needed: int) -> None:
        """Hand tasks from `needed` on to the workers, within the calls in flight allowed and a
        bounded distance ahead; a scan's page 0 goes alone, until it is known to be full."""
        limit = self.limit.limit
        self.progress.in_flight = limit
        self.progress.in_flight_peak = max(self.progress.in_flight_peak, limit)
        self.progress.overloads = self.limit.overloads
        if self._stopped.is_set() or self.limit.pause() > 0:
            return
        if needed == 0 and self.first_alone:
            last = 0
        else:
            last = min(self.last_task, needed + 2 * self.limit.maximum)
        added = 0
        while self._outstanding < limit and self._asked <= last:
            self._todo.append(self._asked)
            self._asked += 1
            self._outstanding += 1
            added += 1
        if not added:
            return
        self.progress.calls += added
        missing = min(len(self._todo) - self._idle, self.limit.maximum - len(self.threads))
        for _ in range(max(0, missing)):
            thread = threading.Thread(
                target=self._work, name=f"{THREAD_NAME}-{self.organisation.id}", daemon=True
            )
            self.threads.append(thread)
            thread.start()
        self._changed.notify_all()

    # --- the workers' side --------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._todo and not self._stopped.is_set():
                    self._idle += 1
                    self._changed.wait()
                    self._idle -= 1
                if self._stopped.is_set():
                    return
                number = self._todo.popleft()
            result: tuple[object, Exception | None]
            try:
                result = (self.fetch(number, self.limit.observe, self._stopped), None)
            except Exception as exc:
                result = (None, exc)
            with self._changed:
                self._results[number] = result
                self._outstanding -= 1
                self._changed.notify_all()

    def _page(self, number: int, observe: Callable, stop: threading.Event) -> bytes:
        def retried(error: Exception) -> None:
            with self._changed:
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
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._changed:
            self._todo.clear()
            self._results.clear()
            self._retried.clear()
            self._changed.notify_all()
        deadline = time.monotonic() + CLOSE_GRACE
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        progress = self.progress
        log.info(
            "%s end org=%s pages=%d rows=%d calls=%d in_flight=%d in_flight_peak=%d "
            "overloads=%d scanned=%d",
            self.kind,
            self.organisation.id,
            progress.pages,
            progress.rows,
            progress.calls,
            self.limit.limit,
            progress.in_flight_peak,
            self.limit.overloads,
            progress.scanned,
        )


def contact_scan(
    *,
    organisation: Organisation,
    query: ContactQuery,
    start: int = 0,
    raw: bool = False,
    stop_at_cap: bool = False,
) -> Scan:
    """A scan of every contact of `organisation` matching `query`, with the current settings
    (see `Scan` for `start`, `raw` and `stop_at_cap`)."""
    return Scan(
        Engine(
            client=contactship_client(),
            organisation=organisation,
            query=query,
            start=start,
            raw=raw,
            stop_at_cap=stop_at_cap,
        )
    )
