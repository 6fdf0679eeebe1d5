"""The CSV format: every matching contact, streamed page by page as it is fetched, a bulk
lookup's rows, streamed as they are looked up, and the groups of a duplicates download.

UTF-8 with a byte order mark by default, RFC 4180 quoting, CRLF line ends; the cells come from
`ExportLayout` (and `LookupLayout`), spreadsheet-safe.
"""

import csv
from collections.abc import Iterable, Iterator

from contacts.contact.columns import Columns
from contacts.contact.types import Contact, iso_utc
from contacts.exports.duplicates import DuplicateGroup, DuplicatesLayout
from contacts.exports.layout import ExportLayout, Progress
from contacts.exports.lookup import LookupLayout
from contacts.upstream.lookup import LookupRow

BOM = "\ufeff"
CRLF = "\r\n"


class _Echo:
    """A file-like object whose write returns the line, for csv.writer over a generator."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(
    first_page: list[Contact],
    pages: Iterable[list[Contact]],
    *,
    progress: Progress,
    bom: bool = True,
    columns: Columns | None = None,
) -> Iterator[bytes]:
    """The whole CSV, UTF-8, RFC 4180 quoting, CRLF: the header and first page at once, then a
    chunk per further page as it arrives. An error from `pages` propagates (see `contact_export`).
    """
    layout = ExportLayout(first_page, columns)
    writer = csv.writer(_Echo(), lineterminator=CRLF)
    created_at = layout.created_at_index

    def row(contact: Contact) -> str:
        values = layout.values(contact)
        if created_at is not None:
            values[created_at] = iso_utc(contact.created_at)  # exactly as the API writes it
        return writer.writerow(values)

    def page_text(page: list[Contact]) -> str:
        progress.rows += len(page)
        progress.pages += 1
        return "".join(map(row, page))

    head = (BOM if bom else "") + writer.writerow(layout.header)
    yield (head + (page_text(first_page) if first_page else "")).encode()
    for page in pages:
        yield page_text(page).encode()


def duplicates_csv_chunks(
    groups: list[DuplicateGroup],
    *,
    progress: Progress,
    bom: bool = True,
    columns: Columns | None = None,
) -> Iterator[bytes]:
    """The groups of a duplicates download, a chunk per group; `group` and `key` come first."""
    layout = DuplicatesLayout(groups, columns)
    writer = csv.writer(_Echo(), lineterminator=CRLF)
    created_at = layout.created_at_index

    def row(group: DuplicateGroup, contact: Contact) -> str:
        values = layout.values(group, contact)
        if created_at is not None:
            values[created_at] = iso_utc(contact.created_at)
        return writer.writerow(values)

    yield ((BOM if bom else "") + writer.writerow(layout.header)).encode()
    for group in groups:
        progress.rows += len(group.contacts)
        progress.pages += 1
        yield "".join(row(group, contact) for contact in group.contacts).encode()


def lookup_csv_chunks(
    rows: Iterator[LookupRow], *, progress: object = None, bom: bool = True
) -> Iterator[bytes]:
    """A lookup's result: the header with the first rows, then a chunk per row as it comes."""
    layout = LookupLayout(rows)
    writer = csv.writer(_Echo(), lineterminator=CRLF)
    created = layout.created_at_index

    def line(row: LookupRow) -> str:
        values = layout.values(row)
        values[created] = iso_utc(values[created]) if values[created] else ""
        return writer.writerow(values)

    header = (BOM if bom else "") + writer.writerow(layout.header)
    yield (header + "".join(map(line, layout.head))).encode()
    for row in layout.rest:
        yield line(row).encode()
