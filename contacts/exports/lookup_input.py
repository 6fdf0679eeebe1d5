"""The values of a bulk lookup, read from pasted text or from an uploaded CSV or XLSX file.

Pasted text: one value per line. A file: the person names the column (by its header, its number
or its letter; the first column if they do not), a header row is recognised (a first row none of
whose cells is an email, a phone number or an id), empty cells are skipped. CSV files may be
UTF-8 (with or without a byte order mark), UTF-16 with a byte order mark, or Windows-1252/Latin-1
(what Excel writes in much of Europe and Latin America), separated by commas, semicolons or tabs.

Every refusal is a `LookupInputError` whose message says what was wrong and what was read so far,
for the form. Nothing here calls Contactship: a list is refused before any call.
"""

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _

from contacts.upstream.identifiers import identifier_parse

log = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc) format
# A text file has few control characters besides tabs and line ends; a binary file many.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLUMN_NUMBER = re.compile(r"[0-9]{1,4}")
COLUMN_LETTERS = re.compile(r"[A-Za-z]{1,3}")
MAX_NAMES_SHOWN = 12


class LookupInputError(Exception):
    """A list the lookup cannot take; `message` is for the person, `status` for the response."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class LookupInput:
    values: list[str]
    header: list[str] = field(default_factory=list)  # the file's header row, if it has one
    column: str = ""  # the column read, as the person would name it
    rows: int = 0  # rows of the file read (header included)


def _too_many(limit: int) -> LookupInputError:
    return LookupInputError(
        _(
            "The list has more than %(limit)s values; a lookup takes at most %(limit)s. "
            "Split it into smaller lists."
        )
        % {"limit": f"{limit:,}"}
    )


def _empty() -> LookupInputError:
    return LookupInputError(_("The list is empty: paste one value per line, or choose a file."))


def values_from_text(text: str, *, limit: int) -> LookupInput:
    values = []
    for line in text.splitlines():
        value = line.strip()
        if value:
            values.append(value)
            if len(values) > limit:
                raise _too_many(limit)
    if not values:
        raise _empty()
    return LookupInput(values)


def values_from_file(
    upload: IO[bytes],
    *,
    name: str,
    size: int,
    column: str,
    limit: int,
    max_bytes: int,
    default_region: str = "",
) -> LookupInput:
    """The values of one column of an uploaded CSV or XLSX file (see the module docstring)."""
    if size > max_bytes:
        raise LookupInputError(
            _(
                "The file %(name)s is %(size)s MB; a lookup reads files of up to %(max)s MB. "
                "Keep only the column to look up, or split the file."
            )
            % {"name": name, "size": f"{size / 1e6:.1f}", "max": f"{max_bytes / 1e6:g}"},
            status=413,
        )
    data = upload.read(max_bytes + 1)
    if not data.strip():
        raise LookupInputError(_("The file %(name)s is empty.") % {"name": name})
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(data, name)
    elif data.startswith(OLE_MAGIC):
        raise LookupInputError(
            _(
                "%(name)s is an old Excel file (.xls). Save it as an Excel workbook (.xlsx) or "
                "as CSV and choose it again."
            )
            % {"name": name}
        )
    else:
        rows = _csv_rows(data, name)
    return _column_values(
        rows, name=name, column=column.strip(), limit=limit, default_region=default_region
    )


def _not_readable(name: str) -> LookupInputError:
    return LookupInputError(
        _("%(name)s is neither a CSV file nor an Excel workbook (.xlsx).") % {"name": name}
    )


def _decode(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_readable(name) from None
    try:
        return data.decode("utf-8-sig")  # the byte order mark, if any, is not a value
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # every byte is a character in Latin-1


def _csv_rows(data: bytes, name: str) -> Iterator[list[str]]:
    text = _decode(data, name)
    controls = len(CONTROL.findall(text[:SNIFF_BYTES]))
    if "\x00" in text or controls > len(text[:SNIFF_BYTES]) // 100:
        raise _not_readable(name)
    sample = text[:SNIFF_BYTES]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel  # one column: no separator to find
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        yield from reader
    except csv.Error as exc:
        # csv's own words ("field larger than field limit (131072)") are for the operator.
        log.info("lookup file %r unreadable as CSV at line %d: %s", name, reader.line_num, exc)
        raise LookupInputError(
            _(
                "%(name)s could not be read as CSV at line %(line)s. Save it again as CSV from "
                "your spreadsheet, or paste the values instead."
            )
            % {"name": name, "line": reader.line_num}
        ) from exc


def _xlsx_rows(data: bytes, name: str) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # only when someone uploads a workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # openpyxl's errors for a zip that is no workbook vary
        raise _not_readable(name) from exc
    try:
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into Excel becomes a number
    return str(value).strip()


def _looks_like_data(row: list[str], default_region: str) -> bool:
    return any(identifier_parse(cell, default_region=default_region).valid for cell in row)


def _column_names(header: list[str], width: int) -> str:
    names = [h for h in header if h] or [str(n) for n in range(1, width + 1)]
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    return shown + (", …" if len(names) > MAX_NAMES_SHOWN else "")


def _column_index(column: str, header: list[str], width: int, name: str) -> int:
    if not column:
        return 0
    folded = [h.strip().casefold() for h in header]
    if column.casefold() in folded:
        return folded.index(column.casefold())
    index = -1
    if COLUMN_NUMBER.fullmatch(column):
        index = int(column) - 1
    elif COLUMN_LETTERS.fullmatch(column):
        index = 0
        for letter in column.upper():
            index = index * 26 + ord(letter) - ord("A") + 1
        index -= 1
    if 0 <= index < width:
        return index
    if header:
        message = _(
            "%(name)s has no column “%(column)s”. Its header row names: %(names)s. Give one of "
            "these names, or a column number or letter."
        )
    else:
        message = _(
            "%(name)s has no column “%(column)s”: it has no header row, and %(width)s "
            "column(s). Give a column number or letter."
        )
    raise LookupInputError(
        message
        % {"name": name, "column": column, "names": _column_names(header, width), "width": width}
    )


def _column_values(
    rows: Iterable[list[str]], *, name: str, column: str, limit: int, default_region: str
) -> LookupInput:
    iterator = iter(rows)
    first = next(iterator, None)
    while first is not None and not any(cell.strip() for cell in first):
        first = next(iterator, None)  # blank lines before the data
    if first is None:
        raise LookupInputError(_("The file %(name)s is empty.") % {"name": name})
    first = [cell.strip() for cell in first]
    header = [] if _looks_like_data(first, default_region) else first
    index = _column_index(column, header, len(first), name)
    result = LookupInput([], header=header, rows=1 if header else 0)
    result.column = header[index] if header and header[index] else str(index + 1)
    data_rows = iterator if header else _chain_first(first, iterator)
    for row in data_rows:
        result.rows += 1
        value = row[index].strip() if index < len(row) else ""
        if value:
            result.values.append(value)
            if len(result.values) > limit:
                raise _too_many(limit)
    if not result.values:
        raise LookupInputError(
            _("Column “%(column)s” of %(name)s has no values (%(rows)s rows read).")
            % {"column": result.column, "name": name, "rows": result.rows}
        )
    return result


def _chain_first(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest
