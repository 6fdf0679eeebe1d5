"""Bulk lookups: which of a list of emails, phone numbers and ids are contacts, and who they are.

One `GET /contacts/{identifier}` per distinct value, made by the call pool (`pool.CallPool`) that
scans use too: the same call limit (leaving CONTACTSHIP_RESERVED_CALLS to page views), adaptive
concurrency with back-off on 429/503, a bounded read-ahead, and cancellation by `close()`; the
client's retries for scans (a 500 is tried again too).

The rows come back in the input's order, one per input value, each with a status:

- `found`: the contact; `not_found`: the API answered 404;
- `invalid`: not an email, a phone number or an id (no call made);
- `duplicate`: the same value (after normalisation) as an earlier line, with that line's result
  (no second call);
- `failed`: the API failed for this value after the client's retries (a 500 is retried too), or
  the breaker is open. Each failed attempt counts for the breaker.

A lookup knows when to stop: a value failed because Contactship is unwell (a 5xx or a refused
connection after the retries, a 429 asking for a longer wait than the dashboard allows, a
timeout: one attempt that timed out is not tried again, or the breaker is open) ends the asking.
Answers already in are kept; every value not answered yet is `failed` with `asked` False and the
stopping error's name (and its Retry-After), without a call: a list of 800 values against an
upstream asking for 30 s between calls fails in a second, not in hours. `progress.stopped` says
why.

Rows are numbered by `lines` (the spreadsheet's row or the pasted list's line of each value),
1, 2, 3... when not given. A lookup given the rows of an earlier one (`previous`) asks only for
the values that failed there (and their repeats); every other row is given back as it was, with
no call: "Retry the failed ones".

A rejected key fails the whole lookup (`UpstreamAuthError`): every value would fail alike and only
an administrator can fix it.

Memory: besides the list itself, the results waiting to be read (bounded by the pool's
read-ahead) and, for values repeated later in the list, their earlier result until its last
repeat is read.
"""

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, cast

from contacts import metrics
from contacts.contact.identifiers import Identifier
from contacts.contact.types import Contact
from contacts.upstream.client import ContactshipClient, contactship_client, decode_json
from contacts.upstream.decode import contact_from_json
from contacts.upstream.errors import (
    CallsBusy,
    Cancelled,
    CircuitOpen,
    DashboardError,
    UpstreamAuthError,
    UpstreamNotFound,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from contacts.upstream.organisations import Organisation
from contacts.upstream.pool import CallPool

log = logging.getLogger(__name__)

FOUND = "found"
NOT_FOUND = "not_found"
INVALID = "invalid"
DUPLICATE = "duplicate"
FAILED = "failed"
STATUSES = (FOUND, NOT_FOUND, INVALID, DUPLICATE, FAILED)
# The failures that say Contactship is unwell (or the dashboard is holding back): the lookup
# stops asking. An odd answer for one contact (`UpstreamBadResponse`) is that value's alone.
STOPPING = (UpstreamUnavailable, UpstreamTimeout, CircuitOpen, CallsBusy)


@dataclass(frozen=True, slots=True)
class LookupRow:
    line: int  # the spreadsheet's row, or the pasted list's line (1-based)
    identifier: Identifier
    status: str
    contact: Contact | None = None
    first_line: int = 0  # for a duplicate: the line it repeats
    result: str = ""  # for a duplicate: that line's status; else the status itself
    error: str = ""  # for `failed`: the error's type name (the words come from its class)
    retry_after: float | None = None  # for `failed`: the wait Contactship asked for, if any
    asked: bool = True  # False: not asked, the lookup having stopped before it

    @property
    def failed(self) -> bool:
        """Failed, or the repeat of a value that failed: asked again by a retry."""
        return self.result == FAILED


@dataclass
class LookupProgress:
    values: int
    done: int = 0
    calls: int = 0  # distinct values to look up
    in_flight: int = 0  # calls in flight allowed now
    in_flight_peak: int = 0
    counts: Counter = field(default_factory=Counter)  # rows by status
    not_asked: int = 0  # rows failed without a call, the lookup having stopped
    stopped: str = ""  # the error's type name that stopped the lookup, if one did
    retry_after: float | None = None  # its Retry-After
    retry: str = ""  # the key that "Retry the failed ones" gives (see exports.lookup)


class Answer(NamedTuple):
    """One value's outcome, as a pool's call gives it."""

    status: str
    contact: Contact | None = None
    error: str = ""
    retry_after: float | None = None
    stops: bool = False  # a failure that ends the lookup (`STOPPING`)


def _failed(error: DashboardError) -> Answer:
    stops = isinstance(error, STOPPING)
    return Answer(FAILED, None, type(error).__name__, error.retry_after, stops)


def _fetcher(
    client: ContactshipClient, organisation: Organisation, tasks: list[Identifier]
) -> Callable:
    """The pool's call for task N: its `Answer`. Holds no reference to the `Lookups`: the pool's
    threads must not keep a dropped lookup alive."""

    def retried(error: DashboardError) -> None:
        if isinstance(error, UpstreamTimeout):
            # A timeout has cost the reader the read timeout already: no second wait as long.
            raise error
        client.breaker_record(organisation, error)

    def fetch(number: int, observe: Callable, stop: threading.Event) -> Answer:
        identifier = tasks[number]
        # Asked here, as the call goes out: in the half-open state this takes the one trial,
        # and the call that took it is the one made.
        if not client.breaker.allow(organisation.id):
            metrics.count_refusal(organisation.id, metrics.BREAKER_OPEN)
            return _failed(CircuitOpen("circuit open"))
        try:
            body = client.lookup_body(
                organisation=organisation,
                identifier=identifier,
                observe=observe,
                stop=stop,
                on_retry=retried,
            )
            contact = contact_from_json(decode_json(body))
        except UpstreamNotFound:
            client.breaker_record(organisation, None)
            return Answer(NOT_FOUND)
        except (Cancelled, UpstreamAuthError):
            raise
        except DashboardError as exc:
            client.breaker_record(organisation, exc)
            return _failed(exc)
        client.breaker_record(organisation, None)
        return Answer(FOUND, contact)

    return fetch


class Lookups:
    """Iterate for the rows (`LookupRow`), in input order; close when done, or use `with`."""

    def __init__(
        self,
        *,
        client: ContactshipClient,
        organisation: Organisation,
        identifiers: Sequence[Identifier],
        lines: Sequence[int] | None = None,
        previous: Sequence[LookupRow] | None = None,
    ) -> None:
        if previous is not None:
            identifiers = [row.identifier for row in previous]
            lines = [row.line for row in previous]
        kept = {row.identifier.key for row in previous or () if not row.failed}
        tasks: list[Identifier] = []
        first: dict[tuple[str, str], int] = {}  # key -> task number
        repeats: Counter = Counter()  # key -> rows with it still to read
        for identifier in identifiers:
            if identifier.valid and identifier.key not in kept:
                key = identifier.key
                if key not in first:
                    first[key] = len(tasks)
                    tasks.append(identifier)
                repeats[key] += 1
        self.organisation = organisation
        self._client = client
        self._pool = CallPool(
            config=client.config,
            org_id=organisation.id,
            fetch=_fetcher(client, organisation, tasks),
            last=len(tasks) - 1,
        )
        limit = self._pool.limit
        self.progress = LookupProgress(
            values=len(identifiers),
            calls=len(tasks),
            in_flight=limit.limit,
            in_flight_peak=limit.limit,
        )
        self._stopped: Answer | None = None
        numbered = list(zip(lines or range(1, len(identifiers) + 1), identifiers, strict=True))
        self._rows = self._run(numbered, previous, first, repeats)

    def __iter__(self) -> Iterator[LookupRow]:
        return self

    def __next__(self) -> LookupRow:
        return next(self._rows)

    def close(self) -> None:
        self._rows.close()
        self._stop()

    def __enter__(self) -> "Lookups":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def threads_alive(self) -> int:
        return self._pool.threads_alive

    def _stop(self) -> None:
        if not self._pool.stop():
            return
        calls = self._pool.progress
        # The fields of a scan's end line, so that one parser reads both; a lookup has no pages.
        log.info(
            "lookup end org=%s pages=0 rows=0 calls=%d in_flight=%d in_flight_peak=%d "
            "overloads=%d scanned=0 stopped=%s",
            self.organisation.id,
            calls.calls,
            self._pool.limit.limit,
            calls.in_flight_peak,
            self._pool.limit.overloads,
            self.progress.stopped or "-",
        )

    def _answer(self, number: int) -> Answer:
        """Task `number`'s answer; an error that ends the lookup (a rejected key) is raised, and
        told to the breaker: it says the upstream answered. Once the lookup has stopped: the
        answer if it is in already, else the stopping one, not asked."""
        if self._stopped is not None:
            ready = self._pool.ready(number)
            return cast(Answer, ready) if ready is not None else self._stopped
        try:
            answer = cast(Answer, self._pool.result(number))
        except Exception as error:
            self._client.breaker_record(self.organisation, error)
            raise
        if answer.stops:
            self._stopped = answer._replace(stops=False, status="")  # "" marks: not asked
            self.progress.stopped = answer.error
            self.progress.retry_after = answer.retry_after
            self._pool.halt()  # no more calls; the answers in stay readable
        return answer

    def _row(self, line: int, identifier: Identifier, answer: Answer) -> LookupRow:
        if answer.status:
            return LookupRow(
                line,
                identifier,
                answer.status,
                answer.contact,
                result=answer.status,
                error=answer.error,
                retry_after=answer.retry_after,
            )
        return LookupRow(
            line,
            identifier,
            FAILED,
            result=FAILED,
            error=answer.error,
            retry_after=answer.retry_after,
            asked=False,
        )

    def _run(
        self,
        numbered: list[tuple[int, Identifier]],
        previous: Sequence[LookupRow] | None,
        first: dict[tuple[str, str], int],
        repeats: Counter,
    ) -> Iterator[LookupRow]:
        pool = self._pool
        progress = self.progress
        kept: dict[tuple[str, str], LookupRow] = {}  # results of values repeated further down
        next_task = 0
        try:
            # Only a look: a claim here took the half-open trial without a call, and every value
            # then failed as "circuit open" until the claim ran out.
            if first and self._client.breaker_ahead(self.organisation):
                pool.first_alone = True  # the trial's outcome decides for the others
            for index, (line, identifier) in enumerate(numbered):
                key = identifier.key
                if previous is not None and (not identifier.valid or key not in first):
                    row = previous[index]  # not failed: given back as it was
                elif not identifier.valid:
                    row = LookupRow(line, identifier, INVALID, result=INVALID)
                else:
                    repeats[key] -= 1
                    if first[key] < next_task:
                        earlier = kept[key]
                        row = replace(
                            earlier,
                            line=line,
                            identifier=identifier,
                            status=DUPLICATE,
                            first_line=earlier.line,
                        )
                    else:
                        row = self._row(line, identifier, self._answer(next_task))
                        next_task += 1
                        kept[key] = row
                    if not repeats[key]:
                        kept.pop(key, None)
                progress.done += 1
                progress.counts[row.status] += 1
                progress.not_asked += not row.asked
                progress.in_flight = pool.limit.limit
                progress.in_flight_peak = pool.limit.peak
                yield row
        finally:
            self._stop()


def contact_lookup(
    *,
    organisation: Organisation,
    identifiers: Sequence[Identifier] = (),
    lines: Sequence[int] | None = None,
    previous: Sequence[LookupRow] | None = None,
) -> Lookups:
    """A bulk lookup of `identifiers` (numbered by `lines`) in `organisation`, with the current
    settings; or of the failed rows of `previous`, an earlier lookup's rows."""
    return Lookups(
        client=contactship_client(),
        organisation=organisation,
        identifiers=identifiers,
        lines=lines,
        previous=previous,
    )
