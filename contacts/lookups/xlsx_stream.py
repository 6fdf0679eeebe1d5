"""The first worksheet of an uploaded XLSX workbook, read as a stream within hard bounds.

A workbook is a zip of XML parts, and what a part declares (its size, the sheet's dimension, the
number of shared strings) is the sender's word. openpyxl inflates parts whole and, in read-only
mode, pads every row to the declared dimension and loads the whole shared-strings table first:
a few kilobytes can then cost minutes of CPU or gigabytes of memory. So the parts are read here
with expat, chunk by chunk, and every read is bounded whatever the file declares:

- the bytes inflated across all parts (`ReadBudget.max_bytes`) and the time (`ReadBudget`'s
  deadline), checked at every chunk and every row;
- zip entries, shared strings (count and characters kept), the characters kept of one cell
  (longer texts are cut at `CELL_KEEP`, so a caller can tell one was cut), and the bytes of one
  XML token (a start tag or a comment expat must hold whole);
- rows and columns beyond the format's limits (also when only the declared dimension says so);
- no DTD (so no entity expansion) in any part.

Rows come out as `SparseRow`s: only the cells that hold text are kept, so a cell in column XFD
costs one entry, not 16,384. Every refusal is a `ReadRefused` with a `reason` and a `detail` for
the log (sizes and counts, never a value of the file).
"""

import zipfile
from collections.abc import Iterator, Sequence
from typing import IO, overload

from contacts.lookups.xlsx_parts import (
    BEYOND_LIMITS,
    CELL_REF,
    MAX_COLUMNS,
    MAX_ROWS,
    NOT_A_WORKBOOK,
    CellText,
    ReadBudget,
    ReadRefused,
    check_entry_count,
    local_name,
    parse_chunks,
    shared_strings,
    sheet_parts,
)


class SparseRow(Sequence[str]):
    """A row as a sequence of its cells' texts, "" where a cell is empty or missing; `number`
    is its row number in the sheet (1-based, as the spreadsheet shows it)."""

    __slots__ = ("cells", "number", "width")

    def __init__(self, cells: dict[int, str], number: int = 0) -> None:
        self.cells = cells
        self.number = number
        self.width = max(cells) + 1 if cells else 0

    def __len__(self) -> int:
        return self.width

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self.cells.get(i, "") for i in range(*index.indices(self.width))]
        if index < 0:
            index += self.width
        if not 0 <= index < self.width:
            raise IndexError(index)
        return self.cells.get(index, "")

    def __iter__(self) -> Iterator[str]:
        return (self.cells.get(i, "") for i in range(self.width))


def xlsx_rows(stream: IO[bytes], budget: ReadBudget) -> Iterator[SparseRow]:
    """The rows of the workbook's first sheet, in order; ReadRefused when a bound is passed."""
    check_entry_count(stream)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReadRefused(NOT_A_WORKBOOK, f"not a zip ({type(exc).__name__})") from None
    with archive:
        try:
            sheet, shared_part = sheet_parts(archive, budget)
            shared = shared_strings(archive, shared_part, budget) if shared_part else []
            yield from _sheet_rows(archive, sheet, shared, budget)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            # A damaged part, a bad checksum, an unsupported compression: what, for the log.
            raise ReadRefused(NOT_A_WORKBOOK, f"unreadable part ({type(exc).__name__})") from None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _check_dimension(ref: str) -> None:
    for corner in ref.split(":")[:2]:
        found = CELL_REF.fullmatch(corner.replace("$", ""))
        if found is None:
            continue  # an odd dimension is only a hint: it is not used
        if _column_number(found[1]) > MAX_COLUMNS or int(found[2]) > MAX_ROWS:
            raise ReadRefused(BEYOND_LIMITS, "declared dimension beyond the format's limits")


def _number_text(value: str) -> str:
    """A number as openpyxl gives it then `str()`: an integral float without its ".0"."""
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and abs(number) < 1e300:
        return str(int(number))  # a phone number typed into Excel becomes a number
    return str(number)


class _SheetReader:
    """expat handlers that turn <sheetData> into SparseRows."""

    def __init__(self, shared: list[str]) -> None:
        self.shared = shared
        self.done: list[SparseRow] = []  # rows completed in the chunk being parsed
        self.row_number = 0
        self.cells: dict[int, str] | None = None
        self.column = 0
        self.kind = ""
        self.value: CellText | None = None
        self.inline: CellText | None = None
        self.in_t = False
        self.phonetic = 0

    def start(self, element: str, attrs: dict[str, str]) -> None:
        name = local_name(element)
        if name == "c" and self.cells is not None:
            self.column = self._cell_column(attrs.get("r", ""))
            self.kind = attrs.get("t", "n")
            self.value = None
            self.inline = None
        elif name == "v" and self.cells is not None:
            self.value = CellText()
        elif name == "is":
            self.inline = CellText()
        elif name == "t":
            self.in_t = True
        elif name == "rPh":
            self.phonetic += 1
        elif name == "row":
            self.row_number = self._row_number(attrs.get("r", ""))
            self.cells = {}
            self.column = 0
        elif name == "dimension":
            _check_dimension(attrs.get("ref", ""))

    def end(self, element: str) -> None:
        name = local_name(element)
        if name == "c" and self.cells is not None:
            text = self._cell_text().strip()
            if text:
                self.cells[self.column - 1] = text
            self.value = self.inline = None
        elif name == "v":
            pass  # kept until the cell ends
        elif name == "t":
            self.in_t = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "row" and self.cells is not None:
            self.done.append(SparseRow(self.cells, self.row_number))
            self.cells = None

    def text(self, data: str) -> None:
        if self.cells is None:
            return
        if self.inline is not None:
            if self.in_t and not self.phonetic:
                self.inline.add(data)
        elif self.value is not None:
            self.value.add(data)

    def _row_number(self, ref: str) -> int:
        number = self.row_number + 1
        if ref:
            if not ref.isdigit() or len(ref) > 7:
                raise ReadRefused(BEYOND_LIMITS, "a row number beyond the format's limits")
            number = max(int(ref), number)  # rows only go forward: each costs one of MAX_ROWS
        if number > MAX_ROWS:
            raise ReadRefused(BEYOND_LIMITS, f"a row beyond {MAX_ROWS}")
        return number

    def _cell_column(self, ref: str) -> int:
        column = self.column + 1
        if ref:
            found = CELL_REF.fullmatch(ref)
            if found is None:
                raise ReadRefused(BEYOND_LIMITS, "a cell reference beyond the format's limits")
            column = max(_column_number(found[1]), column)  # cells only go forward, as rows
        if column > MAX_COLUMNS:
            raise ReadRefused(BEYOND_LIMITS, f"a column beyond {MAX_COLUMNS}")
        return column

    def _cell_text(self) -> str:
        if self.kind == "inlineStr":
            return self.inline.value() if self.inline is not None else ""
        raw = self.value.value() if self.value is not None else ""
        if not raw:
            return ""
        if self.kind == "s":
            try:
                return self.shared[int(raw)]
            except (ValueError, IndexError):
                raise ReadRefused(NOT_A_WORKBOOK, "a shared string that is not there") from None
        if self.kind == "b":
            return "True" if raw.strip() == "1" else "False"
        if self.kind == "n":
            return _number_text(raw)
        return raw  # str (a formula's text), e (an error), d (a date as text)


def _sheet_rows(
    archive: zipfile.ZipFile, part: str, shared: list[str], budget: ReadBudget
) -> Iterator[SparseRow]:
    reader = _SheetReader(shared)
    for _chunk in parse_chunks(archive, part, budget, reader.start, reader.end, reader.text):
        rows, reader.done = reader.done, []
        for row in rows:
            budget.check_time()
            yield row
