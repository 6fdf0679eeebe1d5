"""Bulk lookups: which of a list of emails, phone numbers and ids are contacts, and who they are.

One `GET /contacts/{identifier}` per distinct value, run by the scan engine (`scan.Engine`): the
same call limit (leaving CONTACTSHIP_RESERVED_CALLS to page views), adaptive concurrency with
back-off on 429/503, retries, a bounded read-ahead, and cancellation by `close()`.

The rows come back in the input's order, one per input value, each with a status:

- `found`: the contact; `not_found`: the API answered 404;
- `invalid`: not an email, a phone number or an id (no call made);
- `duplicate`: the same value (after normalisation) as an earlier line, with that line's result
  (no second call);
- `failed`: the API failed for this value after the client's retries (a 500 is retried too), or
  the breaker is open. Each failed attempt counts for the breaker.

A rejected key fails the whole lookup (`UpstreamAuthError`): every value would fail alike and only
an administrator can fix it.

Memory: besides the list itself, the results waiting to be read (bounded by the engine's
read-ahead) and, for values repeated later in the list, their earlier result until its last
repeat is read.
"""

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from contacts.contact.identifiers import Identifier
from contacts.contact.types import Contact
from contacts.upstream.client import ContactshipClient, contactship_client, decode_json
from contacts.upstream.decode import contact_from_json
from contacts.upstream.errors import Cancelled, DashboardError, UpstreamAuthError, UpstreamNotFound
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import Engine

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
    """The engine's call for task N: (status, contact, error name). Holds no reference to the
    `Lookups`, so that dropping one closes it (see `scan.Scan`)."""

    def retried(error: Exception) -> None:
        client.breaker_record(organisation, error)

    def fetch(number: int, observe: Callable, stop: threading.Event) -> tuple:
        identifier = tasks[number]
        # Asked here, as the call goes out: in the half-open state this takes the one trial,
        # and the call that took it is the one made.
        if not client.breaker.allow(organisation.id):
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
        self._engine = Engine(
            client=client,
            organisation=organisation,
            fetch=_fetcher(client, organisation, tasks),
            tasks=len(tasks),
            kind="lookup",
        )
        limit = self._engine.limit
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
        self._engine.stop()

    def __enter__(self) -> "Lookups":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def threads_alive(self) -> int:
        return sum(thread.is_alive() for thread in self._engine.threads)

    def _run(
        self,
        identifiers: Sequence[Identifier],
        first: dict[tuple[str, str], int],
        repeats: Counter,
    ) -> Iterator[LookupRow]:
        engine = self._engine
        progress = self.progress
        kept: dict[tuple[str, str], LookupRow] = {}  # results of values repeated further down
        next_task = 0
        try:
            # Only a look: a claim here took the half-open trial without a call, and every value
            # then failed as "circuit open" until the claim ran out.
            if first and engine.client.breaker_ahead(self.organisation):
                engine.first_alone = True  # the trial's outcome decides for the others
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
                        status, contact, error = engine.answer(next_task)  # type: ignore[misc]
                        next_task += 1
                        row = LookupRow(
                            line, identifier, status, contact, result=status, error=error
                        )
                        kept[key] = row
                    if not repeats[key]:
                        kept.pop(key, None)
                progress.done += 1
                progress.counts[row.status] += 1
                progress.in_flight = engine.limit.limit
                progress.in_flight_peak = engine.limit.peak
                yield row
        finally:
            engine.stop()


def contact_lookup(*, organisation: Organisation, identifiers: Sequence[Identifier]) -> Lookups:
    """A bulk lookup of `identifiers` in `organisation`, with the current settings."""
    return Lookups(client=contactship_client(), organisation=organisation, identifiers=identifiers)
