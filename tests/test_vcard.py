"""The contact's vCard (RFC 6350): the file, its escaping and folding, and its URL."""

import re

import pytest
from django.urls import reverse

from contacts.contact.types import AdditionalField, Contact
from contacts.contact.vcard import contact_vcard, escape_text, fold
from contacts.demo.data import contacts_for


def test_text_values_escape_backslash_comma_semicolon_and_line_breaks():
    assert escape_text("a\\b,c;d\ne\r\nf") == "a\\\\b\\,c\\;d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    line = "NOTE:" + "é" * 100  # two octets each
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in pieces), [len(p.encode()) for p in pieces]
    assert all(p.startswith(" ") for p in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == line


def test_a_contact_becomes_a_vcard_4_with_crlf_lines():
    contact = Contact(
        id="3f1c0c5e-0000-4000-8000-000000000001",
        full_name="Pérez, Juan; Jr.",
        email="juan@example.mx",
        phone_number="+525512345678",
        country="México",
        description="Cliente\nVIP",
        additional_data=(AdditionalField(type="boolean", field="newsletter", value=True),),
    )
    card = contact_vcard(contact)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert card.endswith("END:VCARD\r\n")
    assert "\n" not in card.replace("\r\n", "")
    lines = card.split("\r\n")
    assert "FN:Pérez\\, Juan\\; Jr." in lines
    assert "EMAIL;TYPE=work:juan@example.mx" in lines
    assert "TEL;VALUE=uri;TYPE=work,voice:tel:+525512345678" in lines
    assert "ADR;TYPE=work:;;;;;;México" in lines
    assert "NOTE:Cliente\\nVIP\\nnewsletter: Yes" in lines
    assert "UID:urn:uuid:3f1c0c5e-0000-4000-8000-000000000001" in lines


def test_addresses_go_into_adr_with_the_country_and_the_rest_into_note():
    contact = Contact(
        id="3F1C0C5E-0000-4000-8000-000000000002",
        full_name="Ana Souza",
        country="Brasil",
        additional_data=(
            AdditionalField(type="location", field="endereço", value="Rua XV, 12; Blumenau"),
            AdditionalField(type="text", field="notas", value="Prefere WhatsApp"),
            AdditionalField(type="location", field="entrega", value="Av. Brasil 500"),
        ),
    )
    lines = contact_vcard(contact).split("\r\n")
    # Street address is the third component; the country the seventh (RFC 6350 6.3.1).
    assert "ADR;TYPE=work;PREF=1:;;Rua XV\\, 12\\; Blumenau;;;;Brasil" in lines
    assert "ADR;TYPE=work:;;Av. Brasil 500;;;;Brasil" in lines
    assert "NOTE:notas: Prefere WhatsApp" in lines
    assert not any(line.startswith("ADR") and "notas" in line for line in lines)
    # A UUID in capitals is still that UUID, written as RFC 9562 writes them.
    assert "UID:urn:uuid:3f1c0c5e-0000-4000-8000-000000000002" in lines


def test_an_address_without_a_country_and_an_id_that_is_no_uuid():
    contact = Contact(
        id="c_12345",
        full_name="Juan",
        additional_data=(AdditionalField(type="location", field="dirección", value="Calle 1"),),
    )
    lines = contact_vcard(contact).split("\r\n")
    assert "ADR;TYPE=work:;;Calle 1;;;;" in lines
    uid = next(line for line in lines if line.startswith("UID:"))
    # A name-based UUID: a URN, and the same one each time for the same id.
    assert re.fullmatch(
        r"UID:urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uid
    )
    assert uid in contact_vcard(contact)
    assert uid not in contact_vcard(Contact(id="c_12346", full_name="Juan"))


@pytest.mark.django_db
def test_the_contact_page_offers_the_vcard_and_the_file_downloads(member_client, upstream):
    contact = contacts_for("org-tejo")[0]
    page = member_client.get(reverse("contact_detail", args=["org-tejo", contact["id"]]))
    url = reverse("contact_vcard", args=["org-tejo", contact["id"]])
    assert f'href="{url}" download>Save to my contacts</a>' in page.content.decode()
    response = member_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content.decode()
    assert f"TEL;VALUE=uri;TYPE=work,voice:tel:{contact['phone_number']}\r\n" in body
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_contact_page_reads_like_a_card_not_a_record(member_client, upstream):
    contact = next(c for c in contacts_for("org-tejo") if c.get("additional_data"))
    body = member_client.get(
        reverse("contact_detail", args=["org-tejo", contact["id"]])
    ).content.decode()
    assert 'class="copy link-button" data-copy="' + contact["email"] in body
    assert f'data-copy="{contact["phone_number"]}"' in body
    assert " UTC</time>" in body  # says its zone; the script shows the viewer's own
    assert '<span class="type">' not in body  # no "number", "web address" badges
    # The ids are there, tucked away.
    technical = body[body.index('<details class="technical">') :]
    assert contact["id"] in technical
