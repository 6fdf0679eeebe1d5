"""CSV export: every matching contact, streamed page by page, safe to open in a spreadsheet.

Columns: the contact fields in the API's own names, then one column per additional-data field
seen in the first page, then `other_additional_data` for fields first seen later, as
`field: value` pairs. The header has to go out before the last page is fetched (the download must
start at once and memory must stay flat), so later fields cannot get columns of their own; they
are kept, never dropped.
"""

import csv
import logging
import re
import time
from collections.abc import Iterable, Iterator

from .types import Contact, additional_field_names

log = logging.getLogger(__name__)

CONTACT_COLUMNS = (
    "id",
    "created_at",
    "full_name",
    "email",
    "phone_number",
    "country",
    "description",
    "organization_id",
)
OTHER_COLUMN = "other_additional_data"
BOM = "\ufeff"
# Repeated fields of one contact share a cell.
JOIN = "; "

# OWASP CSV injection: spreadsheets run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PHONE_NUMBER = re.compile(r"\+[0-9]+")


def spreadsheet_safe(value: str) -> str:
    """Prefix an apostrophe to what a spreadsheet would run, except a bare phone number.

    "+12124567890" stays as the API gave it: a spreadsheet shows it as a number at worst, runs
    nothing, and the value survives a round trip.
    """
    if value.startswith(FORMULA_START) and not PHONE_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer over a generator."""

    def write(self, value: str) -> str:
        return value


class CsvExporter:
    def __init__(self, first_page: list[Contact]) -> None:
        self.extra_fields = additional_field_names(first_page)
        self._known = set(self.extra_fields)
        self._writer = csv.writer(_Echo(), lineterminator="\r\n")
        self.rows = 0

    def header(self) -> str:
        # Field names come from the data too, so they get the same treatment as values.
        names = [*CONTACT_COLUMNS, *self.extra_fields, OTHER_COLUMN]
        return self._writer.writerow([spreadsheet_safe(n) for n in names])

    def row(self, contact: Contact) -> str:
        extra: dict[str, list[str]] = {}
        other: list[str] = []
        for item in contact.additional_data:
            if item.field in self._known:
                extra.setdefault(item.field, []).append(item.text)
            else:
                other.append(f"{item.field}: {item.text}")
        values = [
            contact.id,
            contact.created_at_iso,
            contact.full_name,
            contact.email,
            contact.phone_number,
            contact.country,
            contact.description,
            contact.organization_id,
            *(JOIN.join(extra.get(name, ())) for name in self.extra_fields),
            JOIN.join(other),
        ]
        self.rows += 1
        return self._writer.writerow([spreadsheet_safe(v) for v in values])


def csv_stream(
    pages: Iterable[list[Contact]], *, first_page: list[Contact], bom: bool = True
) -> Iterator[str]:
    """The whole CSV: header and first page at once, then each further page as it arrives.

    An error from the pages propagates: the server then aborts the response, so the browser
    reports a failed download instead of saving a file that looks complete.
    """
    exporter = CsvExporter(first_page)
    started = time.monotonic()
    yield (BOM if bom else "") + exporter.header() + "".join(map(exporter.row, first_page))
    try:
        for page in pages:
            yield "".join(map(exporter.row, page))
    except Exception as exc:
        log.error(
            "export aborted after rows=%d ms=%d error=%s detail=%s",
            exporter.rows,
            round((time.monotonic() - started) * 1000),
            type(exc).__name__,
            getattr(exc, "detail", ""),
        )
        raise
    log.info(
        "export finished rows=%d ms=%d", exporter.rows, round((time.monotonic() - started) * 1000)
    )
