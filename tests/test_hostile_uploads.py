"""Hostile bulk-lookup files: each is answered in bounded time and memory, and the worker goes
on serving meanwhile.

The files are built here (a few kilobytes to a megabyte each, declaring or unpacking to far
more) and sent as a member to a real gunicorn (`tests.live`), with `/healthz` polled from a
thread during the upload and the worker's peak memory read from /proc. Unit tests of the
readers come first; they need no server.
"""

import io
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from contacts.lookups.input import (
    LookupInputError,
    _delimiter,
    values_from_file,
)
from contacts.places import EXPORT, LOOKUP, take_place
from tests.live import LiveStack, live_stack, memory_kib, reset_peak_rss

pytestmark = pytest.mark.timeout(120)

ORG = "org-tejo"
ANSWER_SECONDS = 8.0  # the read budget is 5 s; a loaded machine needs some room
HEALTH_SECONDS = 1.0  # the longest a health check may take during an upload
MEMORY_GROWTH_KIB = 200 * 1024
MEMBER = "hostile-member"
PASSWORD = "a-Long-test-passw0rd"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="xl/workbook.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="worksheets/sheet1.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>
<Relationship Id="rId2" Target="sharedStrings.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>
</Relationships>"""
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def workbook(sheet: Iterator[bytes] | bytes, shared: Iterator[bytes] | bytes = b"<sst/>") -> bytes:
    """A minimal XLSX whose sheet and shared strings are written from chunks (so a part can
    unpack to hundreds of MB without being held whole here)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, content in (
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared),
        ):
            with archive.open(name, "w", force_zip64=True) as part:
                for chunk in [content] if isinstance(content, bytes) else content:
                    part.write(chunk)
    return out.getvalue()


def sheet_of(rows: Iterator[bytes] | bytes, dimension: str = "A1") -> Iterator[bytes]:
    yield (SHEET_OPEN + f'<dimension ref="{dimension}"/><sheetData>').encode()
    yield from [rows] if isinstance(rows, bytes) else rows
    yield b"</sheetData></worksheet>"


def repeated(piece: bytes, total: int) -> Iterator[bytes]:
    """`piece` repeated to about `total` bytes, in chunks of about 1 MB."""
    chunk = piece * max(1, (1 << 20) // len(piece))
    for _ in range(max(1, total // len(chunk))):
        yield chunk


def huge_dimension() -> bytes:
    """A few KB declaring 16,384 columns by 1,048,576 rows, one value in its last cell."""
    cell = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    first = b'<row r="1"><c r="A1" t="inlineStr"><is><t>ana@example.com</t></is></c></row>'
    return workbook(sheet_of(first + cell, "A1:XFD1048576"))


def beyond_the_format() -> bytes:
    return workbook(sheet_of(b'<row r="1048577"><c r="A1048577"><v>1</v></c></row>'))


def padded_rows() -> bytes:
    """A header, then 200,000 rows each spanning every column, empty cells at both ends."""
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>'
    rows = (
        f'<row r="{n}" spans="1:16384"><c r="A{n}" s="1"/><c r="XFD{n}" s="1"/></row>'.encode()
        for n in range(2, 200_002)
    )
    return workbook(sheet_of(iter((header, *rows)), "A1:XFD200001"))


def shared_strings_table(count: int = 2_000_000) -> bytes:
    shared = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
        *repeated(b"<si><t/></si>", count * 12),
        b"</sst>",
    )
    return workbook(sheet_of(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), iter(shared))


def huge_cell(chars: int = 100_000_000) -> bytes:
    rows = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>',
        *repeated(b"x", chars),
        b"</t></is></c></row>",
    )
    return workbook(sheet_of(iter(rows)))


def zip_bomb(size: int = 400_000_000) -> bytes:
    """A sheet part of blank space between rows, unpacking to hundreds of MB."""
    rows = (b'<row r="1"><c r="A1"><v>1</v></c></row>', *repeated(b" " * 1024, size))
    return workbook(sheet_of(iter(rows)))


def slow_to_sniff() -> bytes:
    """64 KB on which csv.Sniffer's quote-and-delimiter expression backtracks for seconds."""
    return ((',"x' * 22_000)[: 64 * 1024]).encode()


# --- the readers, in this process ----------------------------------------------------------------


def read(data: bytes, column: str = "", **kwargs) -> list[str]:
    kwargs = {"limit": 5000, "max_bytes": 10_000_000, **kwargs}
    stream = io.BytesIO(data)
    return values_from_file(stream, name="f.xlsx", size=len(data), column=column, **kwargs).values


def refusal(data: bytes, **kwargs) -> LookupInputError:
    """The refusal of `data`, answered within ANSWER_SECONDS."""
    started = time.monotonic()
    with pytest.raises(LookupInputError) as caught:
        read(data, **kwargs)
    assert time.monotonic() - started < ANSWER_SECONDS
    return caught.value


def test_a_workbook_declaring_every_cell_is_read_by_what_it_holds():
    data = huge_dimension()
    started = time.monotonic()
    assert read(data) == ["ana@example.com"]
    assert time.monotonic() - started < 2


def test_rows_beyond_the_format_are_refused():
    error = refusal(beyond_the_format())
    assert error.status == 400
    assert "beyond Excel's limits of 1,048,576 rows and 16,384 columns" in error.message
    declared = workbook(sheet_of(b'<row r="1"><c r="A1"><v>1</v></c></row>', "A1:XFE1"))
    assert "beyond Excel's limits" in refusal(declared).message


def test_padded_rows_cost_nothing_per_empty_cell():
    error = refusal(padded_rows())  # within ANSWER_SECONDS, and not by the time budget
    assert "Column “email” of f.xlsx has no values (200001 rows read)" in error.message


@pytest.mark.parametrize(
    "build", [shared_strings_table, huge_cell, zip_bomb], ids=["strings", "cell", "bomb"]
)
def test_what_unpacks_past_the_bounds_is_refused(build):
    error = refusal(build())
    assert error.status == 413
    assert "too large once unpacked" in error.message


def test_the_read_has_a_time_budget():
    error = refusal(padded_rows(), max_seconds=0.05)
    assert error.status == 413
    assert "took longer than 0.05 seconds to read" in error.message


def test_a_doctype_is_refused():
    sheet = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + b"".join(sheet_of(b""))
    assert "neither a CSV" in refusal(workbook(sheet)).message


def test_a_long_value_is_refused_and_a_long_other_cell_is_not():
    long = b"y" * 5000
    rows = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>ana@example.com</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>' + long + b"</t></is></c></row>"
    )
    assert read(workbook(sheet_of(rows))) == ["ana@example.com"]
    error = refusal(workbook(sheet_of(rows)), column="B")
    assert "has a value longer than 1,000 characters" in error.message


def test_a_normal_workbook_reads_as_before():
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Email"])
    sheet.append(["Ana", 5215512345678, "ana@example.com"])
    sheet.append(["Bea", None, "bea@example.com"])
    sheet.append(["Caro", 1.5, "  "])
    out = io.BytesIO()
    book.save(out)
    assert read(out.getvalue(), column="email") == ["ana@example.com", "bea@example.com"]
    assert read(out.getvalue(), column="B") == ["5215512345678", "1.5"]


def test_the_delimiter_comes_from_the_first_lines_quickly():
    started = time.monotonic()
    assert _delimiter(slow_to_sniff().decode()) == ","
    assert time.monotonic() - started < 0.5
    assert _delimiter("nombre;correo\nJosé;a@b.com\n") == ";"
    assert _delimiter("Name\tEmail\nDoe, John\tj@x.com\nRoe, Ann\ta@x.com\n") == "\t"
    assert _delimiter('"a,b";c\n"d,e";f\n') == ";"
    assert _delimiter("ana@example.com\nbea@example.com\n") == ","


def test_a_csv_line_or_row_past_the_bounds_is_refused():
    wide = ("a," * 20_000 + "\n").encode()
    assert "could not be read as CSV at line 1" in refusal(wide).message
    one_line = b"x" * 2_000_000
    assert "could not be read as CSV at line 1" in refusal(one_line).message


def test_the_file_read_is_bounded_by_its_bytes_not_its_declared_size():
    error = refusal(b"a@b.com\n" * 10, max_bytes=40)
    assert error.status == 413


@pytest.mark.django_db
@pytest.mark.parametrize(
    "view, kind, limit",
    [
        (("contact_lookup",), LOOKUP, "DASHBOARD_LOOKUPS_PER_USER"),
        (("contact_lookup_file", "csv"), EXPORT, "DASHBOARD_EXPORTS_PER_USER"),
    ],
)
def test_a_file_waits_for_the_place_and_a_refused_one_gives_it_back(
    member_client, member, upstream, settings, view, kind, limit
):
    setattr(settings, limit, 1)
    name, *more = view
    url = reverse(name, args=[ORG, *more])
    held = take_place(kind, str(member.pk))
    try:
        response = member_client.post(url, {"file": SimpleUploadedFile("b.xlsx", padded_rows())})
        assert response.status_code == 429  # answered before the file is read
    finally:
        held.release()
    started = time.monotonic()
    response = member_client.post(url, {"file": SimpleUploadedFile("b.xlsx", beyond_the_format())})
    assert response.status_code == 400
    assert "beyond Excel&#x27;s limits" in response.content.decode()
    assert time.monotonic() - started < ANSWER_SECONDS
    take_place(kind, str(member.pk)).release()  # the refused file gave its place back


# --- through gunicorn ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack(org_ids=[ORG], threads=4) as running:
        running.add_member(MEMBER, PASSWORD, ORG, can_export=True)
        yield running


@pytest.fixture(scope="module")
def member_session(stack) -> requests.Session:
    return stack.login_as(MEMBER, PASSWORD)


@dataclass
class Watch:
    """The health checks' answer times and the worker's memory during one request."""

    health: list[float] = field(default_factory=list)
    failures: int = 0
    rss_peak_kib: int = 0


@contextmanager
def watched(stack: LiveStack) -> Iterator[Watch]:
    pid = stack.worker_pid()
    peak_reset = reset_peak_rss(pid)
    base = memory_kib(pid)["VmRSS"]
    watch = Watch()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                requests.get(stack.url("/healthz"), timeout=5).raise_for_status()
                watch.health.append(time.monotonic() - started)
            except requests.RequestException:
                watch.failures += 1
            watch.rss_peak_kib = max(watch.rss_peak_kib, memory_kib(pid)["VmRSS"])
            stop.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield watch
    finally:
        stop.set()
        poller.join(10)
        if peak_reset:
            watch.rss_peak_kib = max(watch.rss_peak_kib, memory_kib(pid)["VmHWM"])
        watch.rss_peak_kib -= base


def lookup_url(stack: LiveStack, name: str = "lookup/") -> str:
    return stack.url(f"/orgs/{ORG}/contacts/{name}")


def send(stack: LiveStack, session: requests.Session, name: str, data: bytes, column: str = ""):
    fields = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "column": column}
    with watched(stack) as watch:
        started = time.monotonic()
        response = session.post(
            lookup_url(stack),
            data=fields,
            files={"file": (name, data)},
            timeout=ANSWER_SECONDS * 4,
        )
        elapsed = time.monotonic() - started
    return response, elapsed, watch


def assert_bounded(elapsed: float, watch: Watch) -> None:
    assert elapsed < ANSWER_SECONDS
    assert watch.health, "no health check answered during the upload"
    assert watch.failures == 0
    assert max(watch.health) < HEALTH_SECONDS, watch.health
    assert watch.rss_peak_kib < MEMORY_GROWTH_KIB, f"{watch.rss_peak_kib} KiB more"


@pytest.mark.live
@pytest.mark.parametrize(
    "name, build, statuses, message",
    [
        ("dimension.xlsx", huge_dimension, (200,), "Values looked up: 1"),
        ("beyond.xlsx", beyond_the_format, (400,), "beyond Excel"),
        ("padded.xlsx", padded_rows, (400,), "has no values"),
        ("strings.xlsx", shared_strings_table, (413,), "too large once unpacked"),
        ("cell.xlsx", huge_cell, (413,), "too large once unpacked"),
        ("bomb.xlsx", zip_bomb, (413,), "too large once unpacked"),
        ("sniff.csv", slow_to_sniff, (200, 400), 'id="lookup-form"'),
    ],
)
def test_each_hostile_file_gets_a_bounded_answer(
    stack, member_session, name, build, statuses, message
):
    data = build()
    assert len(data) < 10_000_000
    response, elapsed, watch = send(stack, member_session, name, data)
    assert response.status_code in statuses, response.text[:2000]
    assert message in response.text
    assert 'id="lookup-form"' in response.text
    assert_bounded(elapsed, watch)


class Body:
    """A form whose file part is `size` bytes, read as a stream with a known length (a
    generator would go chunked), never held whole here; `sent` counts what was read of it."""

    boundary = "hostileboundary7d1f"

    def __init__(self, token: str, size: int) -> None:
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"'
            f"\r\n\r\n{token}\r\n--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size
        self.sent = 0
        self.pending = b""
        self.parts = self._parts()

    content_type = f"multipart/form-data; boundary={boundary}"

    def _parts(self) -> Iterator[bytes]:
        yield self.head
        chunk = b"someone@example.com\n" * 3276  # about 64 KB
        left = self.size
        while left > 0:
            yield chunk[:left]
            left -= len(chunk)
        yield self.tail

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def read(self, size: int = -1) -> bytes:
        if not self.pending:
            self.pending = next(self.parts, b"")
        size = len(self.pending) if size < 0 else size
        data, self.pending = self.pending[:size], self.pending[size:]
        self.sent += len(data)
        return data


@pytest.mark.live
def test_a_300_mb_body_is_refused_without_being_read(stack, member_session):
    body = Body(member_session.cookies["csrftoken"], 300_000_000)
    with watched(stack) as watch:
        started = time.monotonic()
        try:
            response = member_session.post(
                lookup_url(stack),
                data=body,
                headers={"Content-Type": body.content_type},
                timeout=ANSWER_SECONDS * 4,
            )
        except requests.ConnectionError:
            response = None  # the server stopped reading and closed: also a refusal
        elapsed = time.monotonic() - started
    if response is not None:
        assert response.status_code == 413
        assert "a lookup reads files of up to 10 MB" in response.text
        assert 'id="lookup-form"' in response.text
    # The client could push what the kernel's buffers took before the server closed.
    assert body.sent < 100_000_000, f"{body.sent} bytes sent"
    assert_bounded(elapsed, watch)


@pytest.mark.live
def test_a_300_mb_chunked_body_is_not_read_either(stack, member_session):
    """Without a length Django reads no body (so no token: 403), and gunicorn drains a little
    of it before closing, rather than all of it."""
    body = Body(member_session.cookies["csrftoken"], 300_000_000)
    with watched(stack) as watch:
        started = time.monotonic()
        try:
            response = member_session.post(
                lookup_url(stack),
                data=iter(lambda: body.read(64 * 1024), b""),
                headers={"Content-Type": body.content_type},
                timeout=ANSWER_SECONDS * 4,
            )
        except requests.ConnectionError:
            response = None
        elapsed = time.monotonic() - started
    assert response is None or 400 <= response.status_code < 500
    assert body.sent < 100_000_000, f"{body.sent} bytes sent"
    assert_bounded(elapsed, watch)
