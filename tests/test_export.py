"""The CSV writer: columns, quoting and spreadsheet safety, on contacts built by hand."""

import csv
import io
from datetime import UTC, datetime

import pytest

from contacts.contact.types import AdditionalField, Contact
from contacts.exports.csv import csv_chunks
from contacts.exports.layout import OTHER_COLUMN, ExportLayout, Progress, spreadsheet_safe


def contact(cid: str, *extra: tuple[str, object], **fields) -> Contact:
    data = tuple(AdditionalField(type="text", field=f, value=v) for f, v in extra)
    return Contact(id=cid, additional_data=data, **fields)


def export(first, pages=(), progress=None) -> str:
    return b"".join(csv_chunks(first, pages, progress=progress or Progress())).decode()


def parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.mark.parametrize(
    "value, safe",
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("- llamar el lunes", "'- llamar el lunes"),
        ("@equipo", "'@equipo"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+12124567890", "+12124567890"),
        # full-width forms, which spreadsheets in East Asian locales run like the ASCII ones
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d2", "'\uff0d2"),
        ("\uff20equipo", "'\uff20equipo"),
        ("+52 55 1234", "'+52 55 1234"),
        ("Juan Pérez", "Juan Pérez"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe


def test_header_and_rows_with_quoting_crlf_and_accents():
    first = [
        contact(
            "1",
            ("dirección", "Av. Insurgentes 123"),
            ("notas", "uno"),
            ("notas", "dos"),
            full_name='Juan "JP" Pérez, hijo',
            description="línea 1\nlínea 2",
            phone_number="+12124567890",
            created_at=datetime(2023, 1, 1, 12, tzinfo=UTC),
        )
    ]
    text = export(first)
    assert "\r\n" in text and text.count("\r\n") == 2  # header and row end; the \n inside is quoted
    header, row = parse(text)
    assert header == [
        "id",
        "created_at",
        "full_name",
        "email",
        "phone_number",
        "country",
        "description",
        "organization_id",
        "dirección",
        "notas",
        OTHER_COLUMN,
    ]
    assert row[1] == "2023-01-01T12:00:00Z"
    assert row[2] == 'Juan "JP" Pérez, hijo'
    assert row[4] == "+12124567890"
    assert row[6] == "línea 1\nlínea 2"
    assert row[8:] == ["Av. Insurgentes 123", "uno; dos", ""]


def test_fields_first_seen_later_go_to_the_trailing_column_and_none_is_lost():
    first = [contact("1", ("score", 87))]
    later = [[contact("2", ("score", 1.5), ("newsletter", True), ("=cmd", "=1+1"))]]
    progress = Progress()
    header, row1, row2 = parse(export(first, later, progress))
    assert (progress.rows, progress.pages) == (2, 2)
    assert header[-2:] == ["score", OTHER_COLUMN]
    assert row1[-2:] == ["87", ""]
    assert row2[-2:] == ["1.5", "newsletter: true; =cmd: =1+1"]


def test_formula_cells_and_field_names_are_neutralised():
    first = [contact("1", ("=HYPERLINK()", "x"), description="=SUM(A1)", email="@x")]
    header, row = parse(export(first))
    assert header[8] == "'=HYPERLINK()"
    assert row[6] == "'=SUM(A1)" and row[3] == "'@x"


def test_a_failure_mid_stream_propagates_so_the_response_is_aborted():
    def pages():
        yield [contact("2")]
        raise RuntimeError("upstream died")

    stream = csv_chunks([contact("1")], pages(), progress=Progress())
    next(stream)
    next(stream)
    with pytest.raises(RuntimeError):
        next(stream)


def test_plain_utf8_without_a_byte_order_mark_on_request():
    text = b"".join(csv_chunks([contact("1")], [], progress=Progress(), bom=False)).decode()
    assert text.startswith("id,created_at,")


def test_an_empty_export_is_a_header_only_file():
    progress = Progress()
    assert parse(export([], [], progress)) == [[*parse(export([contact("1")]))[0]]]
    assert (progress.rows, progress.pages) == (0, 0)


AWKWARD = [
    "",
    " ",
    "plain",
    "a,b",
    ",",
    'say "hi"',
    '"',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\nend",
    "tab\tinside",
    " leading and trailing ",
    "Zoë 東京 ñandú",
    "'already",
    "a;b",
    "\\",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_each_row_is_what_the_csv_module_writes(value):
    # Rows without a delimiter, quote or line break are joined directly (a shortcut for speed);
    # every row must still be byte for byte what csv.writer makes of the same values.
    rows = [
        contact("1", ("notas", value), full_name=value),
        contact("2", ("notas", "x"), description=value, email=f"{value}@x"),
        contact("3", ("otro", value), country=value),
    ]
    text = export(rows)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    layout = ExportLayout(rows)
    writer.writerow(layout.header)
    for row in rows:
        values = layout.values(row)
        values[1] = ""  # created_at: none in these rows
        writer.writerow(values)
    assert text == "\ufeff" + expected.getvalue()
    assert parse(text)[1][2] == value
