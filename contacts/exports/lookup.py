"""A bulk lookup as a service with its audit record, and the rows of its result for the formats.

Columns: `line` (the spreadsheet's row of the value, a header row being row 1, or the pasted
list's line), `input` (the value as given), `input_type` (`email`, `phone_number`, `id` or
`invalid`), `status` (`found`, `not_found`, `invalid`, `duplicate`, `failed`), `reason` (why, in
the reader's language: see `reasons`), then the export's contact columns (`ExportLayout`, its
additional-data columns fixed by the first rows, as an export's by its first page). Each
format's writer (`lookup` in the registry) serialises the
rows with the same spreadsheet safety, byte order mark and cut-stream behaviour as exports: a
failure after the first bytes propagates, and the server aborts the download rather than end the
file cleanly.

Every lookup, on the page or as a file, leaves one audit event: who, the organisation, how many
values, how many of each status, the outcome. Never the values.

"Retry the failed ones": a page's lookup that ends with failed rows keeps its rows in the cache for
RETRY_SECONDS, under a random key scoped to the organisation and the person
(`progress.retry`); a retry with that key asks again for the failed rows only and gives the
others back as they were, without a call. The cache, not the form: the rows of a file carry
every export column of the contacts found, too much to sign into a page, and the cache already
holds Contactship's answers for a while. Nothing is stored when no row failed, and nothing is
written to the database or a log.
"""

import secrets
from collections.abc import Iterator, Sequence
from itertools import chain, islice

from django.core.cache import cache

from contacts.contact.identifiers import Identifier
from contacts.exports.layout import CREATED_AT, ExportLayout, TypedCell, spreadsheet_safe
from contacts.exports.reasons import row_reason
from contacts.exports.record import DownloadRecord, Outcome
from contacts.models import AuditEvent
from contacts.upstream.lookup import LookupRow, Lookups, contact_lookup
from contacts.upstream.organisations import Organisation

LOOKUP_COLUMNS = ("line", "input", "input_type", "status", "reason")
LAYOUT_ROWS = 100  # rows read before the header is written: their contacts fix the columns
RETRY_SECONDS = 15 * 60  # how long "Retry the failed ones" keeps the rows
RETRY_PREFIX = "lookup-retry"


def _counts(lookups: Lookups | None) -> dict[str, int]:
    if lookups is None:
        return {"values": 0}
    progress = lookups.progress
    return {"values": progress.values, "done": progress.done, **progress.counts}


def _tally(lookups: Lookups | None) -> dict:
    counts = _counts(lookups)
    return {"rows": counts["values"], "filters": counts}


def lookup_record(
    *, user, username: str, organisation: Organisation, fmt: str, path: str = ""
) -> DownloadRecord:
    """The audit record of one lookup; `lookup_start` gives it the lookups it counts."""

    def line(lookups: Lookups | None) -> tuple[str, tuple]:
        counts = _counts(lookups)
        return "format=%s values=%d found=%d", (
            fmt or "page",
            counts["values"],
            counts.get("found", 0),
        )

    return DownloadRecord(
        kind=AuditEvent.Kind.LOOKUP,
        user=user,
        username=username,
        organisation_id=organisation.id,
        fmt=fmt,
        path=path,
        tally=_tally,
        line=line,
    )


def _retry_key(organisation_id: str, user_id: object, token: str) -> str:
    return f"{RETRY_PREFIX}:{organisation_id}:{user_id}:{token}"


def retry_rows(organisation_id: str, user_id: object, token: str) -> list[LookupRow] | None:
    """The rows of this person's lookup kept under `token`; None once they are gone."""
    if not token or len(token) > 64:
        return None
    return cache.get(_retry_key(organisation_id, user_id, token))


def _remembered(
    rows: Iterator[LookupRow], lookups: Lookups, user_id: object
) -> Iterator[LookupRow]:
    """The rows, kept for "Retry the failed ones" once the last is read if any failed."""
    kept = []
    for row in rows:
        kept.append(row)
        yield row
    if any(row.failed for row in kept):
        token = secrets.token_urlsafe(16)
        cache.set(_retry_key(lookups.organisation.id, user_id, token), kept, RETRY_SECONDS)
        lookups.progress.retry = token


def lookup_start(
    *,
    record: DownloadRecord,
    organisation: Organisation,
    user_id: object,
    identifiers: Sequence[Identifier] = (),
    lines: Sequence[int] | None = None,
    previous: Sequence[LookupRow] | None = None,
    remember: bool = True,
) -> tuple[Iterator[LookupRow], Lookups]:
    """Start a lookup (of `identifiers`, or of the failed rows of `previous`) and wait for its
    first row, so that an upstream that refuses the key or is failing fast raises here (and
    becomes an error page) instead of breaking a download. Returns every row, the first read
    already, and the lookups (their progress, and `close`). `remember`: keep the rows for
    "Retry the failed ones" (a page's lookup; a file has no button to retry with, and streams
    in flat memory)."""
    lookups = contact_lookup(
        organisation=organisation, identifiers=identifiers, lines=lines, previous=previous
    )
    record.subject = lookups
    try:
        first = list(islice(lookups, 1))
    except Exception as exc:
        lookups.close()
        record.finish(Outcome.FAILED, exc)
        raise
    rows = chain(first, lookups)
    return (_remembered(rows, lookups, user_id) if remember else rows), lookups


class LookupLayout:
    """The columns of a lookup's file, fixed by its first rows' contacts; the rows as cells."""

    def __init__(self, rows: Iterator[LookupRow]) -> None:
        self.head = list(islice(rows, LAYOUT_ROWS))
        self.rest = rows
        self.rows = chain(self.head, rows)  # every row, the head included
        self.contact = ExportLayout([r.contact for r in self.head if r.contact is not None])

    @property
    def header(self) -> list[str]:
        """The column names, spreadsheet-safe (for a format whose cells are text)."""
        return [*LOOKUP_COLUMNS, *self.contact.header]

    @property
    def names(self) -> list[str]:
        return [*LOOKUP_COLUMNS, *self.contact.names]

    def _blank(self) -> list:
        return [None if i == CREATED_AT else "" for i in range(len(self.contact.names))]

    def values(self, row: LookupRow) -> list:
        """A row of text cells, every one spreadsheet-safe as an export's; `created_at` as a
        datetime (or None), for the format to write."""
        contact = self.contact.values(row.contact) if row.contact is not None else self._blank()
        return [
            str(row.line),
            spreadsheet_safe(row.identifier.text),
            row.identifier.kind,
            row.status,
            spreadsheet_safe(row_reason(row)),
            *contact,
        ]

    def typed_values(self, row: LookupRow) -> list[TypedCell]:
        """A row of typed cells: exactly the values, as an export's (text cells never run)."""
        if row.contact is not None:
            contact = self.contact.typed_values(row.contact)
        else:
            contact = self._blank()
        return [
            row.line,
            row.identifier.text,
            row.identifier.kind,
            row.status,
            row_reason(row),
            *contact,
        ]

    @property
    def created_at_index(self) -> int:
        return len(LOOKUP_COLUMNS) + CREATED_AT
