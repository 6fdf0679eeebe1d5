"""The XLSX twin of `csv_chunks` (and of `lookup_csv_chunks`): the same columns (see
`ExportLayout`), as a workbook of typed cells. Unlike the CSV, text is stored exactly as the
upstream sent it: a text cell cannot run as a formula, so nothing is added to it; numbers,
yes/no values and dates keep their types.

Memory stays flat: openpyxl's write-only mode sends each row to a temporary file as it is
appended. But an .xlsx file is a zip archive that openpyxl can only assemble at `save`, after the
last row, so all the bytes come at the end, in one burst of chunks. A failure while fetching pages
therefore propagates before a single byte is sent, like the CSV's failure mid-stream.
"""

import contextlib
import math
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from contacts.contact.columns import Columns
from contacts.contact.types import Contact
from contacts.exports.duplicates import DuplicateGroup, DuplicatesLayout
from contacts.exports.layout import (
    FORMULA_START,
    OTHER_COLUMN,
    PHONE_NUMBER,
    ExportLayout,
    Progress,
    TypedCell,
)
from contacts.exports.lookup import LookupLayout
from contacts.upstream.lookup import LookupRow

SHEET_TITLE = "Contacts"
LOOKUP_SHEET_TITLE = "Lookup"
DUPLICATES_SHEET_TITLE = "Duplicates"
CHUNK_SIZE = 64 * 1024
MAX_CELL_LENGTH = 32_767  # Excel's limit on the characters in one cell
ELLIPSIS = "…"
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
DEFAULT_WIDTH = 18
# Spreadsheets keep 15 significant digits of a number.
MAX_EXACT_NUMBER = 10**15
WIDTHS = {
    "id": 38,
    "organization_id": 38,
    "full_name": 28,
    "email": 28,
    "description": 40,
    OTHER_COLUMN: 40,
}


def _text(value: str) -> str:
    """A value openpyxl accepts: XML-illegal control characters removed, cut to Excel's limit."""
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(cleaned) > MAX_CELL_LENGTH:
        cleaned = cleaned[: MAX_CELL_LENGTH - len(ELLIPSIS)] + ELLIPSIS
    return cleaned


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> str | SheetCell | None:
    """The upstream's text, exactly, as a text cell.

    openpyxl would write a string starting with `=` as a formula and "#N/A" and the like as
    error cells: those get an explicit text cell. A text cell never runs, so nothing is added to
    the text; cells that a person editing them might turn into a formula (or a number) also get
    the quote-prefix style, which Excel and LibreOffice show as a hidden apostrophe.
    """
    if not value:
        return None  # a blank cell rather than an empty string (ISBLANK is true)
    text = _text(value)
    if not text:
        return None
    first = text[0]
    if first in FORMULA_START or first == "#":
        cell = WriteOnlyCell(sheet, text)
        cell.data_type = "s"
        if first in FORMULA_START and not PHONE_NUMBER.fullmatch(text):
            cell.quotePrefix = True
        return cell
    return text


def _date_cell(sheet: WriteOnlyWorksheet, value: datetime) -> SheetCell:
    if value.tzinfo is not None:
        # Excel has no time zones: the cell holds the UTC date and time, naive.
        value = value.astimezone(UTC).replace(tzinfo=None)
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = DATE_FORMAT
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: TypedCell) -> str | int | float | SheetCell | None:
    if value.__class__ is str:
        return _text_cell(sheet, value)
    if value is None:
        return None
    if isinstance(value, datetime):
        return _date_cell(sheet, value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= MAX_EXACT_NUMBER:
        # Beyond 15 digits a spreadsheet number loses digits: keep every one, as text.
        return _text_cell(sheet, str(value))
    if isinstance(value, float) and not math.isfinite(value):
        return _text_cell(sheet, str(value))
    return value


class _Sheet:
    """One "write-only" workbook of one sheet: a bold, frozen header, widths by column name, then
    typed rows; its bytes once complete. A failure before then deletes the rows' temporary
    file, which openpyxl would otherwise keep until the process exits."""

    def __init__(self, title: str, names: list[str], widths: dict[str, int]) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        # Write-only sheets write their layout with the first row: set it up before appending.
        self.sheet.freeze_panes = "A2"
        for index, name in enumerate(names, 1):
            width = widths.get(name, DEFAULT_WIDTH)
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        bold = Font(bold=True)
        try:
            header = []
            for name in names:
                cell = WriteOnlyCell(self.sheet, _text(name))
                cell.data_type = "s"  # a field name is text, whatever it looks like
                cell.font = bold
                header.append(cell)
            self.sheet.append(header)
        except BaseException:
            self.discard()
            raise

    def append(self, values: list[TypedCell]) -> None:
        self.sheet.append([_cell(self.sheet, v) for v in values])

    def discard(self) -> None:
        """Best effort: the error that got us here is the one to report."""
        with contextlib.suppress(Exception):
            self.sheet.close()
            self.sheet._writer.cleanup()

    def chunks(self) -> Iterator[bytes]:
        # Closed on leaving the block, also when the consumer stops early (the generator is
        # closed).
        with tempfile.TemporaryFile() as out:
            self.workbook.save(out)
            out.seek(0)
            while chunk := out.read(CHUNK_SIZE):
                yield chunk


def xlsx_chunks(
    first_page: list[Contact],
    pages: Iterable[list[Contact]],
    *,
    progress: Progress,
    columns: Columns | None = None,
) -> Iterator[bytes]:
    """The whole workbook, one "Contacts" sheet: a bold, frozen header, then a row per contact.

    An error from `pages` propagates before any byte is yielded (see the module docstring).
    """
    layout = ExportLayout(first_page, columns)
    sheet = _Sheet(SHEET_TITLE, layout.names, WIDTHS)
    try:
        for page in chain([first_page] if first_page else [], pages):
            progress.rows += len(page)
            progress.pages += 1
            for contact in page:
                sheet.append(layout.typed_values(contact))
    except BaseException:
        sheet.discard()
        raise
    yield from sheet.chunks()


def lookup_xlsx_chunks(rows: Iterator[LookupRow], *, progress: object = None) -> Iterator[bytes]:
    """A lookup's result as one "Lookup" sheet; like an export's workbook, its bytes come when
    the last row is in."""
    layout = LookupLayout(rows)
    sheet = _Sheet(LOOKUP_SHEET_TITLE, layout.names, {**WIDTHS, "input": 28})
    try:
        for row in layout.rows:
            sheet.append(layout.typed_values(row))
    except BaseException:
        sheet.discard()
        raise
    yield from sheet.chunks()


def duplicates_xlsx_chunks(
    groups: list[DuplicateGroup], *, progress: Progress, columns: Columns | None = None
) -> Iterator[bytes]:
    """The groups of a duplicates download as one "Duplicates" sheet, `group` and `key` first;
    like an export's workbook, its bytes come when the last row is in."""
    layout = DuplicatesLayout(groups, columns)
    sheet = _Sheet(DUPLICATES_SHEET_TITLE, layout.names, {**WIDTHS, "key": 28})
    try:
        for group in groups:
            progress.rows += len(group.contacts)
            progress.pages += 1
            for contact in group.contacts:
                sheet.append(layout.typed_values(group, contact))
    except BaseException:
        sheet.discard()
        raise
    yield from sheet.chunks()
