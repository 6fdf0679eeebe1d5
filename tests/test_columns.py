"""Columns you choose: `columns=` on the search page, the exports and the command.

The exports are checked cell by cell against the demo API's own data, for several choices,
including additional-data fields that first appear after the first page (the page size is made
small so that `address` first appears on the third page) and hostile field names.
"""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from contacts.contact.columns import CONTACT_COLUMNS, InvalidColumns, parse_columns
from contacts.contact.types import AdditionalField, Contact, scalar_text
from contacts.demo.data import contacts_for
from contacts.exports.csv import csv_chunks
from contacts.exports.layout import Progress, spreadsheet_safe
from contacts.exports.xlsx import xlsx_chunks
from contacts.models import ColumnChoice
from tests.support import body_of, csv_rows, make_user, xlsx_rows

ORG = "org-harbor"


def list_url(**params) -> str:
    url = reverse("contact_list", args=[ORG])
    return f"{url}?{urlencode(params)}" if params else url


def export_url(fmt: str, **params) -> str:
    url = reverse("contact_export", args=[ORG, fmt])
    return f"{url}?{urlencode(params)}" if params else url


def expected_text(raw: dict, key: str) -> str:
    """What the CSV holds for one column of one of the demo API's contacts."""
    if key.startswith("data."):
        field = key.removeprefix("data.")
        values = [e["value"] for e in raw.get("additional_data") or [] if e["field"] == field]
        return spreadsheet_safe("; ".join(scalar_text(v) for v in values))
    value = raw.get(key)
    if key == "created_at":
        parsed = datetime.fromisoformat(value).astimezone(UTC)
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    return spreadsheet_safe("" if value is None else str(value))


@pytest.fixture
def small_pages(settings, upstream):
    # 137 contacts in pages of 3: "score" first appears on page 2, "address" on page 3.
    settings.CONTACTSHIP_PAGE_SIZE = 3
    return upstream


# --- parsing ----------------------------------------------------------------------------------


def test_parse_keeps_order_drops_repeats_and_empties():
    assert parse_columns("email,full_name,email,,data.dirección") == (
        "email",
        "full_name",
        "data.dirección",
    )
    assert parse_columns(" full_name , email") == ("full_name", "email")
    assert parse_columns("") is None
    assert parse_columns(" , ") is None
    # after data. the field's name is the organisation's own text, dots and all
    assert parse_columns("data.a.b,data.=1+1") == ("data.a.b", "data.=1+1")


def test_parse_names_every_unknown_column():
    with pytest.raises(InvalidColumns) as caught:
        parse_columns("full_name,nombre,data.,Email")
    assert caught.value.invalid == ["nombre", "data.", "Email"]


# --- the layout, with hostile field names -----------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x","y")', 'a"b,c', "línea\nnueva", "+1", "@SUM(1)"]


def hostile_contacts() -> tuple[list[Contact], list[Contact]]:
    first = [
        Contact(id="c1", full_name="Ana", additional_data=(AdditionalField("text", "nota", "n1"),))
    ]
    later = [
        Contact(
            id="c2",
            full_name="=cmd",
            created_at=datetime(2024, 3, 5, 12, tzinfo=UTC),
            additional_data=(
                *(AdditionalField("text", name, f"v-{i}") for i, name in enumerate(HOSTILE)),
                AdditionalField("number", "score", 7),
                AdditionalField("text", "nota", "n2"),
                AdditionalField("text", "nota", "n3"),
            ),
        )
    ]
    return first, later


def test_chosen_columns_in_csv_hostile_names_and_fields_first_seen_later():
    first, later = hostile_contacts()
    columns = (
        "full_name",
        *(f"data.{n}" for n in HOSTILE),
        "data.score",
        "data.nota",
        "created_at",
    )
    body = b"".join(csv_chunks(first, [later], progress=Progress(), columns=columns))
    header, row1, row2 = csv_rows(body)
    assert header == ["full_name", *map(spreadsheet_safe, HOSTILE), "score", "nota", "created_at"]
    assert header[1] == '\'=HYPERLINK("http://x","y")' and header[4] == "+1"
    assert row1 == ["Ana", "", "", "", "", "", "", "n1", ""]
    assert row2 == [
        "'=cmd",
        "v-0",
        "v-1",
        "v-2",
        "v-3",
        "v-4",
        "7",
        "n2; n3",
        "2024-03-05T12:00:00Z",
    ]
    assert "other_additional_data" not in header


def test_chosen_columns_in_xlsx_keep_exact_text_and_types():
    first, later = hostile_contacts()
    columns = ("data.score", *(f"data.{n}" for n in HOSTILE), "full_name", "created_at")
    rows = xlsx_rows(b"".join(xlsx_chunks(first, [later], progress=Progress(), columns=columns)))
    assert rows[0] == ["score", *HOSTILE, "full_name", "created_at"]
    assert rows[2][0] == 7
    assert rows[2][1:6] == ["v-0", "v-1", "v-2", "v-3", "v-4"]
    assert rows[2][6] == "=cmd"
    assert rows[2][7] == datetime(2024, 3, 5, 12)


# --- exports against the demo API ------------------------------------------------------------

CHOICES = [
    ("full_name", "email", "data.address"),
    ("data.score", "country", "id", "data.notes", "phone_number"),
    (
        "created_at",
        "organization_id",
        "data.website",
        "description",
        "data.newsletter",
        "data.nope",
    ),
]


@pytest.mark.parametrize("columns", CHOICES, ids=["three", "mixed", "dates-and-missing"])
def test_csv_export_has_exactly_the_chosen_columns_with_every_value(
    member_client, small_pages, columns
):
    response = member_client.get(export_url("csv", columns=",".join(columns)))
    assert response.status_code == 200
    header, *rows = csv_rows(body_of(response))
    assert header == [c.removeprefix("data.") for c in columns]
    raw = contacts_for(ORG)
    assert len(rows) == len(raw) == 137
    for contact, row in zip(raw, rows, strict=True):
        assert row == [expected_text(contact, key) for key in columns]
    # "address" first appears on the third page, and still has its own column
    if "data.address" in columns:
        first_with = next(
            i
            for i, c in enumerate(raw)
            if any(e["field"] == "address" for e in c.get("additional_data") or [])
        )
        assert first_with >= 6
        assert rows[first_with][columns.index("data.address")]


@pytest.mark.parametrize("columns", CHOICES, ids=["three", "mixed", "dates-and-missing"])
def test_xlsx_export_has_exactly_the_chosen_columns_with_every_value(
    member_client, small_pages, columns
):
    response = member_client.get(export_url("xlsx", columns=",".join(columns)))
    assert response.status_code == 200
    header, *rows = xlsx_rows(body_of(response))
    assert header == [c.removeprefix("data.") for c in columns]
    raw = contacts_for(ORG)
    assert len(rows) == 137
    for contact, row in zip(raw, rows, strict=True):
        for key, cell in zip(columns, row, strict=True):
            if key == "created_at":
                assert cell == datetime.fromisoformat(contact[key]).astimezone(UTC).replace(
                    tzinfo=None
                )
                continue
            if key.startswith("data."):
                values = [
                    e["value"]
                    for e in contact.get("additional_data") or []
                    if e["field"] == key[5:]
                ]
                expected = values[0] if len(values) == 1 else "; ".join(map(scalar_text, values))
            else:
                expected = contact.get(key) or ""
            assert (cell if cell is not None else "") == expected, (key, contact["id"])


def test_without_columns_the_export_keeps_the_default_columns(member_client, small_pages):
    for params in ({}, {"columns": ""}):
        header, *_ = csv_rows(body_of(member_client.get(export_url("csv", **params))))
        assert header[: len(CONTACT_COLUMNS)] == list(CONTACT_COLUMNS)
        assert header[-1] == "other_additional_data"


def test_a_column_named_twice_appears_once(member_client, upstream):
    header, *_ = csv_rows(body_of(member_client.get(export_url("csv", columns="email,id,email"))))
    assert header == ["email", "id"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unknown_column_is_a_400_that_lists_the_valid_names(member_client, upstream, fmt):
    response = member_client.get(export_url(fmt, columns="full_name,nombre"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "nombre" in body
    for name in CONTACT_COLUMNS:
        assert name in body
    assert "data.&lt;field name&gt;" in body


# --- the search page --------------------------------------------------------------------------


def headers_of(body: str) -> list[str]:
    import re

    thead = body.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)
    ]


def test_the_search_page_shows_the_chosen_columns_and_links_carry_them(member_client, upstream):
    response = member_client.get(list_url(full_name="a", columns="email,data.notes,country"))
    assert response.status_code == 200
    body = response.content.decode()
    # no name column: an "Open" column comes first, with a link to each contact
    assert headers_of(body) == ["Contact", "Email", "notes", "Country"]
    assert f'href="/orgs/{ORG}/contacts/' in body and ">Open<" in body
    for fmt in ("csv", "xlsx"):
        assert f"export.{fmt}?full_name=a&amp;columns=email%2Cdata.notes%2Ccountry" in body
    assert "?full_name=a&amp;page=2&amp;columns=email%2Cdata.notes%2Ccountry" in body
    assert 'name="columns" value="email,data.notes,country"' in body
    # the picker itself only on asking for it
    assert 'name="shown"' not in body
    picker = member_client.get(list_url(columns="email", choose_columns="1")).content.decode()
    assert picker.count('name="shown"') >= len(CONTACT_COLUMNS)
    assert 'name="shown" value="email" id="column-1" checked' in picker


def test_the_picker_form_turns_into_the_columns_address(member_client, upstream):
    form = {
        "full_name": "a",
        "order": ["full_name", "email", "phone_number", "country"],
        "shown": ["full_name", "country", "email"],
        "move": "up:country",  # past Email: Phone, hidden between them, changes nothing
        "add": "dirección",
    }
    response = member_client.post(reverse("contact_list", args=[ORG]), form)
    assert response.status_code == 303
    query = parse_qs(urlsplit(response["Location"]).query)
    # after a move the picker stays open
    assert query == {
        "full_name": ["a"],
        "columns": ["full_name,country,email,data.dirección"],
        "choose_columns": ["1"],
    }
    assert headers_of(member_client.get(response["Location"]).content.decode()) == [
        "Name",
        "Country",
        "Email",
        "dirección",
    ]


def choose(client, *keys: str):
    response = client.post(
        reverse("contact_list", args=[ORG]), {"order": list(keys), "shown": list(keys)}
    )
    assert response.status_code == 303
    return response


def test_an_address_or_a_cross_site_form_changes_no_remembered_choice(member, upstream, client):
    client.force_login(member)
    choose(client, "email", "full_name")
    # A link from anywhere (a GET with columns=, or the old picker's GET form) shows columns...
    for params in ({"columns": "country"}, {"columns": ""}, {"pick": "1", "shown": "country"}):
        assert client.get(list_url(**params)).status_code in (200, 302)
    # ...and a form posted without the CSRF token is refused.
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(member)
    response = forged.post(reverse("contact_list", args=[ORG]), {"reset": "1"})
    assert response.status_code == 403
    assert ColumnChoice.objects.get(user=member, organisation_id=ORG).columns == "email,full_name"
    assert headers_of(client.get(list_url()).content.decode()) == ["Email", "Name"]


def test_the_last_choice_is_remembered_per_user_and_organisation(
    member_client, member, upstream, django_user_model
):
    choose(member_client, "country", "full_name")
    assert ColumnChoice.objects.get(user=member, organisation_id=ORG).columns == "country,full_name"
    body = member_client.get(list_url()).content.decode()
    assert headers_of(body) == ["Country", "Name"]
    assert "export.csv?columns=country%2Cfull_name" in body
    # not another organisation's, not another user's
    assert (
        headers_of(member_client.get(reverse("contact_list", args=["org-tejo"])).content.decode())[
            0
        ]
        == "Name"
    )
    other = make_user(django_user_model, "bea", {ORG: True})
    member_client.force_login(other)
    assert headers_of(member_client.get(list_url()).content.decode())[:2] == ["Name", "Email"]
    # the shared link shows the same columns to the other user
    assert headers_of(
        member_client.get(list_url(columns="country,full_name")).content.decode()
    ) == ["Country", "Name"]
    # an address with columns= shows them but changes no one's choice
    assert not ColumnChoice.objects.filter(user=other).exists()
    # reset: back to the default, and forgotten
    member_client.force_login(member)
    response = member_client.post(reverse("contact_list", args=[ORG]), {"reset": "1"})
    assert response.status_code == 303
    body = member_client.get(response["Location"]).content.decode()
    assert headers_of(body)[:3] == ["Name", "Email", "Phone"]
    assert not ColumnChoice.objects.filter(user=member, organisation_id=ORG).exists()
    assert headers_of(member_client.get(list_url()).content.decode())[:3] == [
        "Name",
        "Email",
        "Phone",
    ]


def test_an_unknown_column_on_the_search_page_is_a_400_that_lists_the_valid_names(
    member_client, member, upstream
):
    response = member_client.get(list_url(columns="full_name,bogus"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Not a column: bogus." in body
    assert ", ".join(CONTACT_COLUMNS) in body
    assert not ColumnChoice.objects.filter(user=member).exists()


# --- the command ------------------------------------------------------------------------------


def test_export_command_takes_columns(small_pages, tmp_path):
    target = tmp_path / "out.csv"
    call_command("export_contacts", ORG, "--output", str(target), "--columns", "id,data.address")
    header, *rows = csv_rows(target.read_bytes())
    assert header == ["id", "address"]
    raw = contacts_for(ORG)
    assert rows == [[expected_text(c, "id"), expected_text(c, "data.address")] for c in raw]


def test_export_command_refuses_an_unknown_column(upstream, tmp_path):
    with pytest.raises(
        CommandError, match=r"--columns: not column names: nombre\. Valid names: id, created_at"
    ):
        call_command(
            "export_contacts", ORG, "--output", str(tmp_path / "x.csv"), "--columns", "nombre"
        )


def test_a_hostile_field_name_in_the_url_is_a_safe_header_in_both_formats(member_client, upstream):
    hostile = '=HYPERLINK("http://evil.example")'  # no comma: a comma separates columns
    columns = f"full_name,data.{hostile},data.línea\nnueva"
    header, *rows = csv_rows(body_of(member_client.get(export_url("csv", columns=columns))))
    assert header == ["full_name", "'" + hostile, "línea\nnueva"]
    assert len(rows) == 137 and all(row[1:] == ["", ""] for row in rows)
    header, *rows = xlsx_rows(body_of(member_client.get(export_url("xlsx", columns=columns))))
    assert header == ["full_name", hostile, "línea\nnueva"]
    page = member_client.get(list_url(columns=columns)).content.decode()
    assert hostile not in page  # escaped in the table's header
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in page
