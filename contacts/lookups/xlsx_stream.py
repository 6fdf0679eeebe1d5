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

import posixpath
import re
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, overload
from xml.parsers import expat

MAX_ROWS = 1_048_576  # the format's limits
MAX_COLUMNS = 16_384
MAX_ENTRIES = 10_000  # parts in the zip; a workbook has tens
MAX_SHARED_STRINGS = 200_000
MAX_SHARED_CHARS = 5_000_000  # characters kept across the shared-strings table
CELL_KEEP = 1_001  # characters kept of one cell: one more than any value a lookup accepts
MAX_TOKEN_BYTES = 1_000_000  # one start tag, comment or processing instruction
CHUNK = 64 * 1024

# Why a read stopped, for the message and the log.
NOT_A_WORKBOOK = "not-a-workbook"
TOO_LARGE = "too-large"
BEYOND_LIMITS = "beyond-limits"
TOO_SLOW = "too-slow"

CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")
EOCD = b"PK\x05\x06"


class ReadRefused(Exception):
    """The file cannot be read within the bounds; `detail` is for the log, free of values."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ReadBudget:
    """The time and the inflated bytes one upload may take to read."""

    seconds: float
    max_bytes: int
    used: int = 0
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ReadRefused(TOO_SLOW, f"read longer than {self.seconds:g} s")

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.max_bytes:
            raise ReadRefused(TOO_LARGE, f"more than {self.max_bytes} bytes inflated")
        self.check_time()


class SparseRow(Sequence[str]):
    """A row as a sequence of its cells' texts, "" where a cell is empty or missing."""

    __slots__ = ("cells", "width")

    def __init__(self, cells: dict[int, str]) -> None:
        self.cells = cells
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
    _check_entry_count(stream)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReadRefused(NOT_A_WORKBOOK, f"not a zip ({type(exc).__name__})") from None
    with archive:
        try:
            sheet, shared_part = _sheet_parts(archive, budget)
            shared = _shared_strings(archive, shared_part, budget) if shared_part else []
            yield from _sheet_rows(archive, sheet, shared, budget)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            # A damaged part, a bad checksum, an unsupported compression: what, for the log.
            raise ReadRefused(NOT_A_WORKBOOK, f"unreadable part ({type(exc).__name__})") from None


def _check_entry_count(stream: IO[bytes]) -> None:
    """Refuse a zip of very many entries before zipfile builds an object for each."""
    stream.seek(0, 2)
    size = stream.tell()
    tail_size = min(size, 22 + 65_535)  # the end record and the longest comment
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(0)
    at = tail.rfind(EOCD)
    if at < 0 or at + 22 > len(tail):
        raise ReadRefused(NOT_A_WORKBOOK, "no zip end record")
    entries = int.from_bytes(tail[at + 10 : at + 12], "little")
    if entries > MAX_ENTRIES:  # 0xFFFF, a ZIP64 archive's sign, is over it as well
        raise ReadRefused(TOO_LARGE, f"{entries} zip entries")


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _parse_chunks(
    archive: zipfile.ZipFile,
    name: str,
    budget: ReadBudget,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Feed one part to expat a chunk at a time, within the budget; yields after each chunk
    (expat pushes, and the sheet's rows are pulled)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetReparseDeferralEnabled(False)  # tokens are bounded below, so reparsing is cheap

    def no_dtd(*_args: object) -> None:
        raise ReadRefused(NOT_A_WORKBOOK, "a part declares a DTD")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    try:
        part = archive.open(name)
    except KeyError:
        raise ReadRefused(NOT_A_WORKBOOK, "a part named by the workbook is missing") from None
    fed = 0
    with part:
        while True:
            chunk = part.read(CHUNK)
            budget.spend(len(chunk))
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                raise ReadRefused(NOT_A_WORKBOOK, f"bad XML ({exc.code})") from None
            fed += len(chunk)
            # What expat holds unparsed is one token it has not seen the end of.
            if fed - parser.CurrentByteIndex > MAX_TOKEN_BYTES:
                raise ReadRefused(TOO_LARGE, f"an XML token over {MAX_TOKEN_BYTES} bytes")
            yield
            if not chunk:
                return


def _parse_part(
    archive: zipfile.ZipFile,
    name: str,
    budget: ReadBudget,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    for _chunk in _parse_chunks(archive, name, budget, start, end, text):
        pass


def _small_part(archive: zipfile.ZipFile, name: str, budget: ReadBudget, tag: str) -> list[dict]:
    """The attributes of every `tag` element of a small part (relationships, the workbook)."""
    found: list[dict[str, str]] = []

    def start(element: str, attrs: dict[str, str]) -> None:
        if _local(element) == tag and len(found) < MAX_ENTRIES:
            found.append({_local(k): v for k, v in attrs.items()})

    _parse_part(archive, name, budget, start)
    return found


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part: str) -> str:
    directory, _, file = part.rpartition("/")
    return f"{directory}/_rels/{file}.rels" if directory else f"_rels/{file}.rels"


def _sheet_parts(archive: zipfile.ZipFile, budget: ReadBudget) -> tuple[str, str]:
    """The first sheet's part and the shared strings' part ("" if none), as openpyxl finds
    them: the package's office document, its first <sheet>, and their relationships."""
    names = set(archive.namelist())
    workbook = "xl/workbook.xml"
    if "_rels/.rels" in names:
        for rel in _small_part(archive, "_rels/.rels", budget, "Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                workbook = _target("", rel.get("Target", ""))
                break
    if workbook not in names or _rels_of(workbook) not in names:
        raise ReadRefused(NOT_A_WORKBOOK, "no workbook part")
    sheets = _small_part(archive, workbook, budget, "sheet")
    if not sheets:
        raise ReadRefused(NOT_A_WORKBOOK, "the workbook has no sheet")
    sheet_id = sheets[0].get("id", "")  # r:id; the local names of its attributes differ
    relations = _small_part(archive, _rels_of(workbook), budget, "Relationship")
    sheet = shared = ""
    for rel in relations:
        if rel.get("Id") == sheet_id and not sheet:
            sheet = _target(workbook, rel.get("Target", ""))
        if rel.get("Type", "").endswith("/sharedStrings") and not shared:
            shared = _target(workbook, rel.get("Target", ""))
    if not sheet:
        raise ReadRefused(NOT_A_WORKBOOK, "the first sheet has no part")
    return sheet, shared if shared in names else ""


class _Text:
    """Character data of one cell or string, kept up to CELL_KEEP characters."""

    __slots__ = ("kept", "pieces")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.kept = 0

    def add(self, data: str) -> None:
        if self.kept < CELL_KEEP:
            piece = data[: CELL_KEEP - self.kept]
            self.pieces.append(piece)
            self.kept += len(piece)

    def value(self) -> str:
        return "".join(self.pieces)


def _shared_strings(archive: zipfile.ZipFile, part: str, budget: ReadBudget) -> list[str]:
    strings: list[str] = []
    state = {"text": None, "in_t": False, "phonetic": 0, "chars": 0}

    def start(element: str, _attrs: dict[str, str]) -> None:
        name = _local(element)
        if name == "si":
            if len(strings) >= MAX_SHARED_STRINGS:
                raise ReadRefused(TOO_LARGE, f"more than {MAX_SHARED_STRINGS} shared strings")
            state["text"] = _Text()
        elif name == "rPh":  # a phonetic reading, not part of the text (as openpyxl)
            state["phonetic"] += 1
        elif name == "t":
            state["in_t"] = True

    def end(element: str) -> None:
        name = _local(element)
        if name == "si" and state["text"] is not None:
            value = state["text"].value()
            state["chars"] += len(value)
            if state["chars"] > MAX_SHARED_CHARS:
                raise ReadRefused(TOO_LARGE, f"shared strings over {MAX_SHARED_CHARS} characters")
            strings.append(value)
            state["text"] = None
        elif name == "rPh":
            state["phonetic"] -= 1
        elif name == "t":
            state["in_t"] = False

    def text(data: str) -> None:
        if state["in_t"] and not state["phonetic"] and state["text"] is not None:
            state["text"].add(data)

    _parse_part(archive, part, budget, start, end, text)
    return strings


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
        self.value: _Text | None = None
        self.inline: _Text | None = None
        self.in_t = False
        self.phonetic = 0

    def start(self, element: str, attrs: dict[str, str]) -> None:
        name = _local(element)
        if name == "c" and self.cells is not None:
            self.column = self._cell_column(attrs.get("r", ""))
            self.kind = attrs.get("t", "n")
            self.value = None
            self.inline = None
        elif name == "v" and self.cells is not None:
            self.value = _Text()
        elif name == "is":
            self.inline = _Text()
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
        name = _local(element)
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
            self.done.append(SparseRow(self.cells))
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
    for _chunk in _parse_chunks(archive, part, budget, reader.start, reader.end, reader.text):
        rows, reader.done = reader.done, []
        for row in rows:
            budget.check_time()
            yield row
