"""The plumbing under the streaming XLSX reader: a workbook's zip and XML parts, read chunk by
chunk within one budget of bytes and time, and its shared strings (see `xlsx_stream`)."""

import posixpath
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO
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


def check_entry_count(stream: IO[bytes]) -> None:
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


def local_name(name: str) -> str:
    return name.rpartition(" ")[2]


def parse_chunks(
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
    for _chunk in parse_chunks(archive, name, budget, start, end, text):
        pass


def _small_part(archive: zipfile.ZipFile, name: str, budget: ReadBudget, tag: str) -> list[dict]:
    """The attributes of every `tag` element of a small part (relationships, the workbook)."""
    found: list[dict[str, str]] = []

    def start(element: str, attrs: dict[str, str]) -> None:
        if local_name(element) == tag and len(found) < MAX_ENTRIES:
            found.append({local_name(k): v for k, v in attrs.items()})

    _parse_part(archive, name, budget, start)
    return found


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part: str) -> str:
    directory, _, file = part.rpartition("/")
    return f"{directory}/_rels/{file}.rels" if directory else f"_rels/{file}.rels"


def sheet_parts(archive: zipfile.ZipFile, budget: ReadBudget) -> tuple[str, str]:
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


class CellText:
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


class _SharedStrings:
    """The shared strings part's parser callbacks: each `si`'s text (its `t` elements, phonetic
    readings left out, as openpyxl does), within the count and size limits."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.text: CellText | None = None
        self.in_t = False
        self.phonetic = 0
        self.chars = 0

    def start(self, element: str, _attrs: dict[str, str]) -> None:
        name = local_name(element)
        if name == "si":
            if len(self.strings) >= MAX_SHARED_STRINGS:
                raise ReadRefused(TOO_LARGE, f"more than {MAX_SHARED_STRINGS} shared strings")
            self.text = CellText()
        elif name == "rPh":  # a phonetic reading, not part of the text (as openpyxl)
            self.phonetic += 1
        elif name == "t":
            self.in_t = True

    def end(self, element: str) -> None:
        name = local_name(element)
        if name == "si" and self.text is not None:
            self._add(self.text.value())
            self.text = None
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "t":
            self.in_t = False

    def _add(self, value: str) -> None:
        self.chars += len(value)
        if self.chars > MAX_SHARED_CHARS:
            raise ReadRefused(TOO_LARGE, f"shared strings over {MAX_SHARED_CHARS} characters")
        self.strings.append(value)

    def data(self, data: str) -> None:
        if self.in_t and not self.phonetic and self.text is not None:
            self.text.add(data)


def shared_strings(archive: zipfile.ZipFile, part: str, budget: ReadBudget) -> list[str]:
    parser = _SharedStrings()
    _parse_part(archive, part, budget, parser.start, parser.end, parser.data)
    return parser.strings
