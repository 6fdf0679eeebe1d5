"""A bulk lookup's result as CSV or XLSX, and the lookup as a service with its audit event.

Columns: `input` (the value as given), `input_type` (`email`, `phone_number`, `id` or
`invalid`), `status` (`found`, `not_found`, `invalid`, `duplicate`, `failed`), then the export's
contact columns (`ExportLayout`, its additional-data columns fixed by the first rows, as an
export's by its first page). The same spreadsheet safety, byte order mark and cut-stream
behaviour as exports: a failure after the first bytes propagates, and the server aborts the
download rather than end the file cleanly.

Every lookup, on the page or as a file, leaves one audit event: who, the organisation, how many
values, how many of each status, the outcome. Never the values.
"""

import csv
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from itertools import chain, islice

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from contacts.contact.identifiers import Identifier
from contacts.contact.types import iso_utc
from contacts.exports.csv import BOM, CRLF, _Echo
from contacts.exports.layout import CREATED_AT, ExportLayout, spreadsheet_safe
from contacts.exports.streaming import primed
from contacts.exports.xlsx import CHUNK_SIZE, DEFAULT_WIDTH, WIDTHS, _discard, _row, _text
from contacts.models import AuditEvent
from contacts.upstream.lookup import LookupRow, Lookups, contact_lookup
from contacts.upstream.organisations import Organisation

log = logging.getLogger(__name__)
Outcome = AuditEvent.Outcome

LOOKUP_COLUMNS = ("input", "input_type", "status")
LAYOUT_ROWS = 100  # rows read before the header is written: their contacts fix the columns
SHEET_TITLE = "Lookup"


class LookupRecord:
    """Collects what one lookup did and writes its audit event once, when it ends."""

    def __init__(
        self, *, user, username: str, organisation: Organisation, fmt: str, path: str = ""
    ) -> None:
        self.fields = {
            "kind": AuditEvent.Kind.LOOKUP,
            "user": user if user is not None and user.is_authenticated else None,
            "username": username,
            "organisation_id": organisation.id,
            "source": "web",
            "export_format": fmt,
            "path": path[:300],
        }
        self.lookups: Lookups | None = None
        self.size = 0
        self.started = time.monotonic()
        self.finished = False

    def counts(self) -> dict[str, int]:
        progress = self.lookups.progress if self.lookups else None
        if progress is None:
            return {"values": 0}
        return {"values": progress.values, "done": progress.done, **progress.counts}

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        duration_ms = round((time.monotonic() - self.started) * 1000)
        error_name = type(error).__name__ if error else ""
        counts = self.counts()
        log.log(
            logging.INFO if outcome == Outcome.COMPLETED else logging.WARNING,
            "lookup %s org=%s user=%s format=%s values=%d found=%d bytes=%d ms=%d error=%s",
            outcome,
            self.fields["organisation_id"],
            self.fields["username"],
            self.fields["export_format"] or "page",
            counts.get("values", 0),
            counts.get("found", 0),
            self.size,
            duration_ms,
            error_name or "-",
        )
        try:
            AuditEvent.objects.create(
                **self.fields,
                outcome=outcome,
                filters=counts,  # how many of each status: never the values
                rows=counts.get("values", 0),
                bytes=self.size,
                duration_ms=duration_ms,
                error=error_name,
            )
        except Exception:
            # The lookup itself must not fail because the audit could not be written.
            log.exception("audit event not written for a lookup")

    @primed
    def stream(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """`chunks`, counted; the audit event written however the stream ends."""
        try:
            yield  # primed: a download dropped before its first byte still ends the lookups
            for chunk in chunks:
                self.size += len(chunk)
                yield chunk
        except GeneratorExit:
            self.finish(Outcome.CANCELLED)
            raise
        except Exception as exc:
            self.finish(Outcome.FAILED, exc)
            raise
        else:
            self.finish(Outcome.COMPLETED)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            if self.lookups is not None:
                self.lookups.close()  # its threads end with the lookup, however it ended


def lookup_start(
    *,
    record: LookupRecord,
    organisation: Organisation,
    identifiers: Sequence[Identifier],
) -> tuple[list[LookupRow], Lookups]:
    """Start a lookup and wait for its first row, so that an upstream that refuses the key or
    is failing fast raises here (and becomes an error page) instead of breaking a download.
    Returns the first rows read (none or one) and the rest to come."""
    lookups = contact_lookup(organisation=organisation, identifiers=identifiers)
    record.lookups = lookups
    try:
        first = list(islice(lookups, 1))
    except Exception as exc:
        lookups.close()
        record.finish(Outcome.FAILED, exc)
        raise
    return first, lookups


def _layout(rows: Iterator[LookupRow]) -> tuple[ExportLayout, list[LookupRow]]:
    head = list(islice(rows, LAYOUT_ROWS))
    return ExportLayout([r.contact for r in head if r.contact is not None]), head


def _blank_contact(layout: ExportLayout) -> list:
    return [None if i == CREATED_AT else "" for i in range(len(layout.names))]


def _cells(row: LookupRow, layout: ExportLayout) -> list:
    """A CSV row: every text cell spreadsheet-safe, as an export's."""
    contact = layout.values(row.contact) if row.contact is not None else _blank_contact(layout)
    return [spreadsheet_safe(row.identifier.text), row.identifier.kind, row.status, *contact]


def _typed_cells(row: LookupRow, layout: ExportLayout) -> list:
    """An XLSX row: exactly the values, typed, as an export's (text cells never run)."""
    contact = (
        layout.typed_values(row.contact) if row.contact is not None else _blank_contact(layout)
    )
    return [row.identifier.text, row.identifier.kind, row.status, *contact]


def lookup_csv_chunks(rows: Iterator[LookupRow], *, bom: bool = True) -> Iterator[bytes]:
    """The result as CSV: the header with the first rows, then a chunk per row as it comes."""
    layout, head = _layout(rows)
    writer = csv.writer(_Echo(), lineterminator=CRLF)

    def line(row: LookupRow) -> str:
        values = _cells(row, layout)
        created = len(LOOKUP_COLUMNS) + CREATED_AT
        values[created] = iso_utc(values[created]) if values[created] else ""
        return writer.writerow(values)

    header = (BOM if bom else "") + writer.writerow([*LOOKUP_COLUMNS, *layout.header])
    yield (header + "".join(map(line, head))).encode()
    for row in rows:
        yield line(row).encode()


def lookup_xlsx_chunks(rows: Iterator[LookupRow]) -> Iterator[bytes]:
    """The result as one "Lookup" sheet, written in openpyxl's constant-memory mode; like an
    export's workbook, its bytes come when the last row is in."""
    layout, head = _layout(rows)
    names = [*LOOKUP_COLUMNS, *layout.names]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, name in enumerate(names, 1):
        width = 28 if name == "input" else WIDTHS.get(name, DEFAULT_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    try:
        header = []
        for name in names:
            cell = WriteOnlyCell(sheet, _text(name))
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in chain(head, rows):
            sheet.append(_row(sheet, _typed_cells(row, layout)))
    except BaseException:
        _discard(sheet)
        raise
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK_SIZE):
            yield chunk
