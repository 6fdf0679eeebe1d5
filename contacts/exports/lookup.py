"""A bulk lookup as a service with its audit record, and the rows of its result for the formats.

Columns: `input` (the value as given), `input_type` (`email`, `phone_number`, `id` or
`invalid`), `status` (`found`, `not_found`, `invalid`, `duplicate`, `failed`), then the export's
contact columns (`ExportLayout`, its additional-data columns fixed by the first rows, as an
export's by its first page). Each format's writer (`lookup` in the registry) serialises the
rows with the same spreadsheet safety, byte order mark and cut-stream behaviour as exports: a
failure after the first bytes propagates, and the server aborts the download rather than end the
file cleanly.

Every lookup, on the page or as a file, leaves one audit event: who, the organisation, how many
values, how many of each status, the outcome. Never the values.
"""

from collections.abc import Iterator, Sequence
from itertools import chain, islice

from contacts.contact.identifiers import Identifier
from contacts.exports.layout import CREATED_AT, ExportLayout, TypedCell, spreadsheet_safe
from contacts.exports.record import DownloadRecord, Outcome
from contacts.models import AuditEvent
from contacts.upstream.lookup import LookupRow, Lookups, contact_lookup
from contacts.upstream.organisations import Organisation

LOOKUP_COLUMNS = ("input", "input_type", "status")
LAYOUT_ROWS = 100  # rows read before the header is written: their contacts fix the columns


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


def lookup_start(
    *,
    record: DownloadRecord,
    organisation: Organisation,
    identifiers: Sequence[Identifier],
) -> tuple[list[LookupRow], Lookups]:
    """Start a lookup and wait for its first row, so that an upstream that refuses the key or
    is failing fast raises here (and becomes an error page) instead of breaking a download.
    Returns the first rows read (none or one) and the rest to come."""
    lookups = contact_lookup(organisation=organisation, identifiers=identifiers)
    record.subject = lookups
    try:
        first = list(islice(lookups, 1))
    except Exception as exc:
        lookups.close()
        record.finish(Outcome.FAILED, exc)
        raise
    return first, lookups


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
        return [spreadsheet_safe(row.identifier.text), row.identifier.kind, row.status, *contact]

    def typed_values(self, row: LookupRow) -> list[TypedCell]:
        """A row of typed cells: exactly the values, as an export's (text cells never run)."""
        if row.contact is not None:
            contact = self.contact.typed_values(row.contact)
        else:
            contact = self._blank()
        return [row.identifier.text, row.identifier.kind, row.status, *contact]

    @property
    def created_at_index(self) -> int:
        return len(LOOKUP_COLUMNS) + CREATED_AT
