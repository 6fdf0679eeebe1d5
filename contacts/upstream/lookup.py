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
from dataclasses import dataclass, field
from typing import cast

from contacts import metrics
from contacts.contact.identifiers import Identifier
from contacts.contact.types import Contact
from contacts.upstream.client import ContactshipClient, contactship_client, decode_json
from contacts.upstream.decode import contact_from_json
from contacts.upstream.errors import Cancelled, DashboardError, UpstreamAuthError, UpstreamNotFound
from contacts.upstream.organisations import Organisation
from contacts.upstream.pool import CallPool

log = logging.getLogger(__name__)

FOUND = "found"
NOT_FOUND = "not_found"
INVALID = "invalid"
DUPLICATE = "duplicate"
FAILED = "failed"
STATUSES = (FOUND, NOT_FOUND, INVALID, DUPLICATE, FAILED)


@dataclass(frozen=True, slots=True)
class LookupRow:
    line: int  # 1-based position in the input
    identifier: Identifier
    status: str
    contact: Contact | None = None
    first_line: int = 0  # for a duplicate: the line it repeats
    result: str = ""  # for a duplicate: that line's status; else the status itself
    error: str = ""  # for `failed`: the error's type name, for the operator


@dataclass
class LookupProgress:
    values: int
    done: int = 0
    calls: int = 0  # distinct values to look up
    in_flight: int = 0  # calls in flight allowed now
    in_flight_peak: int = 0
    counts: Counter = field(default_factory=Counter)  # rows by status


def _fetcher(
    client: ContactshipClient, organisation: Organisation, tasks: list[Identifier]
) -> Callable:
    """The pool's call for task N: (status, contact, error name). Holds no reference to the
    `Lookups`: the pool's threads must not keep a dropped lookup alive."""

    def retried(error: Exception) -> None:
        client.breaker_record(organisation, error)

    def fetch(number: int, observe: Callable, stop: threading.Event) -> tuple:
        identifier = tasks[number]
        # Asked here, as the call goes out: in the half-open state this takes the one trial,
        # and the call that took it is the one made.
        if not client.breaker.allow(organisation.id):
            metrics.count_refusal(organisation.id, metrics.BREAKER_OPEN)
            return FAILED, None, "CircuitOpen"
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
            return NOT_FOUND, None, ""
        except (Cancelled, UpstreamAuthError):
            raise
        except DashboardError as exc:
            client.breaker_record(organisation, exc)
            return FAILED, None, type(exc).__name__
        client.breaker_record(organisation, None)
        return FOUND, contact, ""

    return fetch


class Lookups:
    """Iterate for the rows (`LookupRow`), in input order; close when done, or use `with`."""

    def __init__(
        self,
        *,
        client: ContactshipClient,
        organisation: Organisation,
        identifiers: Sequence[Identifier],
    ) -> None:
        tasks: list[Identifier] = []
        first: dict[tuple[str, str], int] = {}  # key -> task number
        repeats: Counter = Counter()  # key -> rows with it still to read
        for identifier in identifiers:
            if identifier.valid:
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
        self._rows = self._run(identifiers, first, repeats)

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
            "overloads=%d scanned=0",
            self.organisation.id,
            calls.calls,
            self._pool.limit.limit,
            calls.in_flight_peak,
            self._pool.limit.overloads,
        )

    def _answer(self, number: int) -> tuple:
        """Task `number`'s (status, contact, error name); an error that ends the lookup (a
        rejected key) is raised, and told to the breaker: it says the upstream answered."""
        try:
            return cast(tuple, self._pool.result(number))
        except Exception as error:
            self._client.breaker_record(self.organisation, error)
            raise

    def _run(
        self,
        identifiers: Sequence[Identifier],
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
            for line, identifier in enumerate(identifiers, 1):
                if not identifier.valid:
                    row = LookupRow(line, identifier, INVALID, result=INVALID)
                else:
                    key = identifier.key
                    repeats[key] -= 1
                    if first[key] < next_task:
                        earlier = kept[key]
                        row = LookupRow(
                            line,
                            identifier,
                            DUPLICATE,
                            earlier.contact,
                            first_line=earlier.line,
                            result=earlier.result,
                            error=earlier.error,
                        )
                    else:
                        status, contact, error = self._answer(next_task)
                        next_task += 1
                        row = LookupRow(
                            line, identifier, status, contact, result=status, error=error
                        )
                        kept[key] = row
                    if not repeats[key]:
                        kept.pop(key, None)
                progress.done += 1
                progress.counts[row.status] += 1
                progress.in_flight = pool.limit.limit
                progress.in_flight_peak = pool.limit.peak
                yield row
        finally:
            self._stop()


def contact_lookup(*, organisation: Organisation, identifiers: Sequence[Identifier]) -> Lookups:
    """A bulk lookup of `identifiers` in `organisation`, with the current settings."""
    return Lookups(client=contactship_client(), organisation=organisation, identifiers=identifiers)
