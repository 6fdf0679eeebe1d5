"""The values of a bulk lookup, read from pasted text or from an uploaded CSV or XLSX file.

Pasted text: one value per line. A file: the person names the column (by its header, its number
or its letter; the first column if they do not), a header row is recognised (a first row none of
whose cells is an email, a phone number or an id), empty cells are skipped. CSV files may be
UTF-8 (with or without a byte order mark), UTF-16 with a byte order mark, or Windows-1252/Latin-1
(what Excel writes in much of Europe and Latin America), separated by commas, semicolons or tabs.

A file is read within bounds whatever it declares (a hostile file must not cost a worker minutes
of CPU or gigabytes of memory): from the temporary file the upload went to, a chunk or a line at
a time, for at most `max_seconds`; a CSV's delimiter is chosen by counting candidates in its first
lines (csv.Sniffer's regular expressions can take seconds, holding the interpreter lock), a line
of at most MAX_LINE_CHARS and a row of at most MAX_COLUMNS fields; a workbook through
`xlsx_stream` (its inflated parts within `max_inflated` bytes, see there). A value longer than
MAX_VALUE_CHARS is refused: no email, phone number or id is that long.

Every refusal is a `LookupInputError` whose message says what was wrong and what was read so far,
for the form, and the log says why in sizes and counts, never with a value of the file. Nothing
here calls Contactship: a list is refused before any call.
"""

import codecs
import csv
import io
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext as _

from contacts.contact.identifiers import identifier_parse
from contacts.lookups import xlsx_parts, xlsx_stream
from contacts.lookups.xlsx_parts import ReadBudget, ReadRefused

log = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024  # the head that tells CSV from binary
DELIMITER_BYTES = 16 * 1024  # the first lines, where the delimiter is counted
DELIMITER_LINES = 50
DELIMITERS = ",;\t|"  # by preference, when two fit the lines as well
QUOTED = re.compile(r'"[^"]*"')
CHUNK = 64 * 1024
MAX_LINE_CHARS = 1_000_000
MAX_COLUMNS = xlsx_stream.MAX_COLUMNS
MAX_VALUE_CHARS = xlsx_parts.CELL_KEEP - 1
READ_SECONDS = 5.0
MAX_INFLATED = 50_000_000
MAX_NAME_SHOWN = 60  # characters of a header name in a message
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
    # Each value's line: the spreadsheet's row (a header row is row 1), or the pasted line.
    lines: list[int] = field(default_factory=list)
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
    result = LookupInput([])
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip()
        if value:
            result.values.append(value)
            result.lines.append(number)
            if len(result.values) > limit:
                raise _too_many(limit)
    if not result.values:
        raise _empty()
    return result


def too_large(name: str, max_bytes: int, size: int | None = None) -> LookupInputError:
    """The refusal of a file over `max_bytes` (its size if known)."""
    if size is None:
        message = _(
            "The file %(name)s is larger than %(max)s MB; a lookup reads files of up to "
            "%(max)s MB. Keep only the column to look up, or split the file."
        )
    else:
        message = _(
            "The file %(name)s is %(size)s MB; a lookup reads files of up to %(max)s MB. "
            "Keep only the column to look up, or split the file."
        )
    values = {"name": name, "max": f"{max_bytes / 1e6:g}", "size": f"{(size or 0) / 1e6:.1f}"}
    return LookupInputError(message % values, status=413)


def values_from_file(
    upload: IO[bytes],
    *,
    name: str,
    size: int,
    column: str,
    limit: int,
    max_bytes: int,
    default_region: str = "",
    max_seconds: float = READ_SECONDS,
    max_inflated: int = MAX_INFLATED,
) -> LookupInput:
    """The values of one column of an uploaded CSV or XLSX file (see the module docstring)."""
    if size > max_bytes:
        raise too_large(name, max_bytes, size)
    stream: IO[bytes] = getattr(upload, "file", upload)  # an UploadedFile's own file
    stream.seek(0, io.SEEK_END)
    actual = stream.tell()
    if actual > max_bytes:  # the size said is the sender's word
        raise too_large(name, max_bytes, actual)
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    if not head.strip() and actual <= len(head):
        raise LookupInputError(_("The file %(name)s is empty.") % {"name": name})
    if head.startswith(OLE_MAGIC):
        raise LookupInputError(
            _(
                "%(name)s is an old Excel file (.xls). Save it as an Excel workbook (.xlsx) or "
                "as CSV and choose it again."
            )
            % {"name": name}
        )
    budget = ReadBudget(seconds=max_seconds, max_bytes=max_inflated)
    if head.startswith(XLSX_MAGIC):
        rows: Iterator[Sequence[str]] = xlsx_stream.xlsx_rows(stream, budget)
        kind = "XLSX"
    else:
        rows = _csv_rows(stream, head, name, budget)
        kind = "CSV"
    try:
        return _column_values(
            rows, name=name, column=column.strip(), limit=limit, default_region=default_region
        )
    except ReadRefused as refused:
        log.info(
            "lookup file refused: %s of %d bytes, %s: %s (%g s allowed, %d bytes inflated)",
            kind,
            actual,
            refused.reason,
            refused.detail,
            max_seconds,
            budget.used,
        )
        raise _refusal(refused, name, budget) from None
    except LookupInputError as error:
        log.info("lookup file refused: %s of %d bytes, status %d", kind, actual, error.status)
        raise
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # a generator stopped early gives its file back now


def _refusal(refused: ReadRefused, name: str, budget: ReadBudget) -> LookupInputError:
    if refused.reason == xlsx_parts.TOO_SLOW:
        return LookupInputError(
            _(
                "%(name)s took longer than %(seconds)s seconds to read. Keep only the column "
                "to look up, or split the file."
            )
            % {"name": name, "seconds": f"{budget.seconds:g}"},
            status=413,
        )
    if refused.reason == xlsx_parts.TOO_LARGE:
        return LookupInputError(
            _(
                "%(name)s is too large once unpacked: a lookup reads workbooks of up to "
                "%(max)s MB of data and %(strings)s different texts. Keep only the column to "
                "look up, or save it as CSV."
            )
            % {
                "name": name,
                "max": f"{budget.max_bytes / 1e6:g}",
                "strings": f"{xlsx_parts.MAX_SHARED_STRINGS:,}",
            },
            status=413,
        )
    if refused.reason == xlsx_parts.BEYOND_LIMITS:
        return LookupInputError(
            _(
                "%(name)s has cells beyond Excel's limits of %(rows)s rows and %(columns)s "
                "columns. Save it again from your spreadsheet, or save it as CSV."
            )
            % {
                "name": name,
                "rows": f"{xlsx_stream.MAX_ROWS:,}",
                "columns": f"{xlsx_stream.MAX_COLUMNS:,}",
            }
        )
    return _not_readable(name)


def _not_readable(name: str) -> LookupInputError:
    return LookupInputError(
        _("%(name)s is neither a CSV file nor an Excel workbook (.xlsx).") % {"name": name}
    )


def _decodes(stream: IO[bytes], encoding: str, budget: ReadBudget) -> bool:
    """Whether the whole file decodes in `encoding`, read a chunk at a time."""
    decoder = codecs.getincrementaldecoder(encoding)()
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
            budget.check_time()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(stream: IO[bytes], head: bytes, name: str, budget: ReadBudget) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _decodes(stream, "utf-16", budget):
            return "utf-16"
        raise _not_readable(name)
    for encoding in ("utf-8-sig", "cp1252"):  # the byte order mark, if any, is not a value
        if _decodes(stream, encoding, budget):
            return encoding
    return "latin-1"  # every byte is a character in Latin-1


def _delimiter(sample: str) -> str:
    """The candidate found the same number of times on most of the first lines (outside
    quotes), the earlier in DELIMITERS on a tie; a comma when none is (one column)."""
    if len(sample) > DELIMITER_BYTES:
        sample = sample[:DELIMITER_BYTES]
        sample = sample[: sample.rfind("\n") + 1] or sample  # no cut line
    lines = [line for line in QUOTED.sub("", sample).splitlines() if line.strip()]
    lines = lines[:DELIMITER_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = Counter(line.count(delimiter) for line in lines)
        counts.pop(0, None)
        if not counts:
            continue
        per_line, agreeing = counts.most_common(1)[0]
        score = (agreeing, per_line)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_unreadable(name: str, line: int) -> LookupInputError:
    return LookupInputError(
        _(
            "%(name)s could not be read as CSV at line %(line)s. Save it again as CSV from "
            "your spreadsheet, or paste the values instead."
        )
        % {"name": name, "line": line}
    )


def _lines(stream: IO[bytes], encoding: str, name: str, budget: ReadBudget) -> Iterator[str]:
    """The file's lines, each read with a bound (a file of one 10 MB line is refused)."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[arg-type]
    try:
        number = 0
        while line := text.readline(MAX_LINE_CHARS + 1):
            number += 1
            if len(line) > MAX_LINE_CHARS:
                log.info("lookup file: CSV line %d over %d characters", number, MAX_LINE_CHARS)
                raise _csv_unreadable(name, number)
            if "\x00" in line:
                raise _not_readable(name)
            budget.check_time()
            yield line
    finally:
        text.detach()  # the upload's file stays open, for Django to remove


def _csv_rows(stream: IO[bytes], head: bytes, name: str, budget: ReadBudget) -> Iterator[list[str]]:
    encoding = _encoding(stream, head, name, budget)
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    controls = len(CONTROL.findall(sample))
    if "\x00" in sample or controls > len(sample) // 100:
        raise _not_readable(name)
    lines = _lines(stream, encoding, name, budget)
    reader = csv.reader(lines, csv.excel, delimiter=_delimiter(sample))
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                log.info("lookup file: CSV row of %d fields", len(row))
                raise _csv_unreadable(name, reader.line_num)
            yield row
    except csv.Error as exc:
        # csv's own words ("field larger than field limit (131072)") are for the operator.
        log.info("lookup file unreadable as CSV at line %d: %s", reader.line_num, exc)
        raise _csv_unreadable(name, reader.line_num) from exc
    finally:
        lines.close()


def _looks_like_data(row: list[str], default_region: str) -> bool:
    return any(identifier_parse(cell, default_region=default_region).valid for cell in row)


def _column_names(header: list[str], width: int) -> str:
    names = [h for h in header if h] or [str(n) for n in range(1, min(width, MAX_NAMES_SHOWN) + 1)]
    shown = ", ".join(
        h if len(h) <= MAX_NAME_SHOWN else h[:MAX_NAME_SHOWN] + "…" for h in names[:MAX_NAMES_SHOWN]
    )
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
        % {
            "name": name,
            "column": column[:MAX_NAME_SHOWN],
            "names": _column_names(header, width),
            "width": width,
        }
    )


def _too_long(name: str, column: str) -> LookupInputError:
    return LookupInputError(
        _(
            "Column “%(column)s” of %(name)s has a value longer than %(max)s characters; a "
            "lookup takes emails, phone numbers and contact ids. Choose the column that holds "
            "them."
        )
        % {"column": column[:MAX_NAME_SHOWN], "name": name, "max": f"{MAX_VALUE_CHARS:,}"}
    )


def _column_values(
    rows: Iterable[Sequence[str]], *, name: str, column: str, limit: int, default_region: str
) -> LookupInput:
    numbered = _numbered(rows)
    first_number, first = next(numbered, (0, None))
    while first is not None and not any(cell.strip() for cell in first):
        first_number, first = next(numbered, (0, None))  # blank lines before the data
    if first is None:
        raise LookupInputError(_("The file %(name)s is empty.") % {"name": name})
    first = [cell.strip() for cell in first]
    header = [] if _looks_like_data(first, default_region) else first
    index = _column_index(column, header, len(first), name)
    result = LookupInput([], header=header, rows=1 if header else 0)
    result.column = header[index] if header and header[index] else str(index + 1)
    data_rows = numbered if header else _chain_first((first_number, first), numbered)
    for number, row in data_rows:
        result.rows += 1
        value = row[index].strip() if index < len(row) else ""
        if value:
            if len(value) > MAX_VALUE_CHARS:
                log.info("lookup file: a value of over %d characters", MAX_VALUE_CHARS)
                raise _too_long(name, result.column)
            result.values.append(value)
            result.lines.append(number)
            if len(result.values) > limit:
                raise _too_many(limit)
    if not result.values:
        raise LookupInputError(
            _("Column “%(column)s” of %(name)s has no values (%(rows)s rows read).")
            % {"column": result.column, "name": name, "rows": result.rows}
        )
    return result


def _numbered(rows: Iterable[Sequence[str]]) -> Iterator[tuple[int, Sequence[str]]]:
    """Each row with its number as the spreadsheet shows it: a workbook's own (rows it leaves
    out are empty), a CSV's record count."""
    for count, row in enumerate(rows, 1):
        yield getattr(row, "number", 0) or count, row


def _chain_first(first: tuple, rest: Iterator[tuple]) -> Iterator[tuple]:
    yield first
    yield from rest
