"""The XLSX writer: the CSV's columns and cells as a workbook, read back with openpyxl."""

import csv
import io
import random
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import openpyxl
import pytest
from openpyxl.worksheet import _writer

from contacts.contact.types import AdditionalField, Contact
from contacts.exports import xlsx as export_xlsx
from contacts.exports.csv import csv_chunks
from contacts.exports.layout import OTHER_COLUMN, ExportLayout, Progress
from contacts.exports.xlsx import DATE_FORMAT, MAX_CELL_LENGTH, xlsx_chunks


def contact(cid: str, *extra: tuple[str, object], **fields) -> Contact:
    data = tuple(AdditionalField(type="text", field=f, value=v) for f, v in extra)
    return Contact(id=cid, additional_data=data, **fields)


def sheet_of(chunks):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))
    assert workbook.sheetnames == ["Contacts"]
    return workbook["Contacts"]


def values(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def csv_rows(first, pages) -> list[list[str]]:
    text = b"".join(csv_chunks(first, pages, progress=Progress())).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


ID = "0b6f7a2e-3c1d-4e5f-9a8b-7c6d5e4f3a2b"
ORG = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
FIRST = [
    contact(
        ID,
        ("dirección", "Av. Insurgentes 123"),
        ("notas", "uno"),
        ("notas", "dos"),
        created_at=datetime(2023, 1, 1, 12, 30, 5, tzinfo=timezone(timedelta(hours=-6))),
        full_name="José Ñúñez Çelik",
        email="jose@example.com",
        phone_number="+5521757575651",
        country="MX",
        description="=SUM(A1)",
        organization_id=ORG,
    ),
    contact("2", ("notas", True), full_name="山田 太郎 Ωμέγα", phone_number="0044123"),
]
LATER = [[contact("3", ("dirección", "Calle 5"), ("edad", 42), ("vip", False))]]


def test_header_bold_frozen_and_columns_like_the_csv():
    sheet = sheet_of(xlsx_chunks(FIRST, iter(LATER), progress=Progress()))
    header = [c.value for c in sheet[1]]
    assert header == ExportLayout(FIRST).header == ExportLayout(FIRST).names
    assert header[-1] == OTHER_COLUMN
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 38
    assert sheet.column_dimensions["C"].width == 28
    assert sheet.column_dimensions["G"].width == 40


def test_cells_are_the_upstreams_text_except_created_at():
    sheet = sheet_of(xlsx_chunks(FIRST, iter(LATER), progress=Progress()))
    row = sheet[2]
    created = row[1]
    assert created.is_date and created.number_format == DATE_FORMAT
    assert created.value == datetime(2023, 1, 1, 18, 30, 5)  # UTC, naive
    assert sheet["B3"].value is None  # no created_at, empty cell
    for cell in (row[0], row[4], row[7], sheet["E3"]):
        assert cell.data_type == "s"
    assert row[0].value == ID
    assert row[4].value == "+5521757575651"
    assert sheet["E3"].value == "0044123"
    # Formula-looking text is a text cell holding exactly the upstream's text, never a formula.
    assert row[6].value == "=SUM(A1)" and row[6].data_type == "s"
    assert row[6].quotePrefix  # Excel's hidden apostrophe: it stays text when edited
    assert not row[4].quotePrefix  # a phone number is plain text, "+" included
    assert row[2].value == "José Ñúñez Çelik"
    assert sheet["C3"].value == "山田 太郎 Ωμέγα"


def test_rows_equal_the_csv_rows_apart_from_created_at_and_the_csv_guard():
    xlsx = values(sheet_of(xlsx_chunks(FIRST, iter(LATER), progress=Progress())))
    csv_ = csv_rows(FIRST, iter(LATER))
    assert len(xlsx) == len(csv_) == 4
    assert xlsx[0] == csv_[0]
    for got, want in zip(xlsx[1:], csv_[1:], strict=True):
        created = got.pop(1)
        assert want.pop(1) == (created.isoformat() + "Z" if created else "")
        # The CSV's apostrophe guard is the CSV's alone.
        want = [w.removeprefix("'") if w.startswith("'=") else w for w in want]
        got = [str(v).lower() if isinstance(v, bool) else v for v in got]
        assert [v or "" for v in got] == want
    assert xlsx[3][-3:] == ["Calle 5", None, "edad: 42; vip: false"]
    # A lone yes/no value is typed; repeated fields share a text cell.
    assert xlsx[2][-3:] == [None, True, None]
    assert xlsx[1][-2] == "uno; dos"


def test_an_empty_export_is_a_header_only_workbook():
    progress = Progress()
    sheet = sheet_of(xlsx_chunks([], iter([]), progress=progress))
    assert values(sheet) == [ExportLayout([]).header]
    assert progress == Progress(rows=0, pages=0)


def test_progress_counts_rows_and_pages_like_the_csv():
    pages = [[contact("3")], [], [contact("4"), contact("5")]]
    progress, csv_progress = Progress(), Progress()
    b"".join(xlsx_chunks(FIRST, iter(pages), progress=progress))
    b"".join(csv_chunks(FIRST, iter(pages), progress=csv_progress))
    assert progress == csv_progress == Progress(rows=5, pages=4)


def test_illegal_characters_are_removed_and_overlong_values_cut():
    first = [
        contact(
            "1",
            ("no\x07tas", "a\x00b\x1fc"),
            full_name="Ana\x01 Ruiz\x0b",
            description="x" * (MAX_CELL_LENGTH + 10),
            country="\x01=SUM(A1)",  # a formula behind a control character stays text
            email="#N/A",
        )
    ]
    sheet = sheet_of(xlsx_chunks(first, iter([]), progress=Progress()))
    header, row = values(sheet)
    assert header[8] == "notas"
    assert row[2] == "Ana Ruiz"
    assert row[8] == "abc"
    assert row[5] == "=SUM(A1)" and sheet["F2"].data_type == "s"
    assert row[6] == "x" * (MAX_CELL_LENGTH - 1) + "…" and len(row[6]) == MAX_CELL_LENGTH
    assert row[3] == "#N/A" and sheet["D2"].data_type == "s"


def test_a_failure_in_pages_propagates_before_any_byte_and_leaves_no_temp_file():
    def pages():
        yield [contact("2")]
        raise RuntimeError("upstream failed")

    left_before = list(_writer.ALL_TEMP_FILES)
    stream = xlsx_chunks([contact("1")], pages(), progress=Progress())
    with pytest.raises(RuntimeError, match="upstream failed"):
        next(stream)
    assert left_before == _writer.ALL_TEMP_FILES


def test_the_output_file_is_closed_when_the_consumer_stops_early(monkeypatch):
    opened = []
    real = export_xlsx.tempfile.TemporaryFile

    def recording():
        opened.append(real())
        return opened[-1]

    monkeypatch.setattr(export_xlsx.tempfile, "TemporaryFile", recording)
    noise = random.Random(0)  # hardly compressible, so that the zip outgrows one chunk
    many = [[contact(str(i), description=noise.randbytes(15_000).hex()) for i in range(10)]]
    stream = xlsx_chunks(FIRST, iter(many), progress=Progress())
    assert len(next(stream)) == export_xlsx.CHUNK_SIZE
    assert not opened[0].closed
    stream.close()
    assert opened[0].closed


def synthetic_pages(count: int, size: int):
    """Lean contacts (the core fields and one extra) keep the test fast under tracemalloc: the
    memory a write-only sheet needs does not grow with the rows, whatever their width."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for first in range(0, count, size):
        yield [
            contact(
                f"{i:08d}-0000-4000-8000-000000000000",
                ("puntos", i),
                created_at=start + timedelta(minutes=i),
                full_name=f"Persona Número {i}",
                email=f"persona{i}@example.com",
                phone_number=f"+52155{i:08d}",
            )
            for i in range(first, min(first + size, count))
        ]


@pytest.mark.slow
def test_memory_stays_flat_for_20000_contacts():
    pages = synthetic_pages(20_000, 100)
    progress = Progress()
    tracemalloc.start()
    try:
        size = sum(len(c) for c in xlsx_chunks(next(pages), pages, progress=progress))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert progress == Progress(rows=20_000, pages=200)
    assert size > 100_000
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.1f} MiB"


TYPED = [
    Contact(
        id="1",
        full_name="-10% de desconto",
        description="@ana +uno",
        email='=HYPERLINK("http://x")',
        country="'quoted'",
        additional_data=(
            AdditionalField("number", "pontuação", 87),
            AdditionalField("number", "ratio", 2.5),
            AdditionalField("boolean", "newsletter", False),
            AdditionalField("date", "aniversário", "1990-05-17"),
            AdditionalField("datetime", "visto", "2024-03-01T08:00:00+02:00"),
            AdditionalField("number", "grande", 12345678901234567),
            AdditionalField("text", "nota", "+34 600"),
        ),
    ),
    Contact(
        id="2",
        additional_data=(
            AdditionalField("number", "pontuação", 3),
            AdditionalField("number", "pontuação", 4.5),
            AdditionalField("date", "aniversário", "not a date"),
        ),
    ),
]


def test_typed_cells_exact_text_and_no_formula():
    sheet = sheet_of(xlsx_chunks(TYPED, iter([]), progress=Progress()))
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["full_name"].value == "-10% de desconto" and row["full_name"].data_type == "s"
    assert row["email"].value == '=HYPERLINK("http://x")' and row["email"].data_type == "s"
    assert row["description"].value == "@ana +uno"
    assert row["country"].value == "'quoted'"  # an apostrophe the upstream sent is kept
    assert row["pontuação"].value == 87 and row["pontuação"].data_type == "n"
    assert row["ratio"].value == 2.5 and row["ratio"].data_type == "n"
    assert row["newsletter"].value is False and row["newsletter"].data_type == "b"
    assert row["aniversário"].value == datetime(1990, 5, 17) and row["aniversário"].is_date
    assert row["visto"].value == datetime(2024, 3, 1, 6, 0) and row["visto"].is_date
    # More digits than a spreadsheet number keeps: text, every digit.
    assert row["grande"].value == "12345678901234567" and row["grande"].data_type == "s"
    assert row["nota"].value == "+34 600" and row["nota"].data_type == "s"
    second = dict(zip(header, sheet[3], strict=True))
    assert second["pontuação"].value == "3; 4.5"  # repeated: one text cell, as in the CSV
    assert second["aniversário"].value == "not a date"
    for line in sheet.iter_rows():
        for cell in line:
            assert cell.data_type != "f"
