"""Classifying and normalising what people type to find one contact."""

import re

import pytest

from contacts.contact.identifiers import (
    REASON_NATIONAL,
    REASON_PHONE,
    REASON_PLUS_ADDED,
    REASON_UNKNOWN,
    identifier_parse,
    valid_region,
)


@pytest.mark.parametrize(
    "text, region, kind, value",
    [
        ("ana.perez@example.com", "", "email", "ana.perez@example.com"),
        ("  Ana.Perez@Example.COM ", "", "email", "Ana.Perez@Example.COM"),
        ("+52 (55) 1234-5678", "", "phone_number", "+525512345678"),
        ("+52 55 1234 5678", "MX", "phone_number", "+525512345678"),
        ("+1 212.456.7890", "", "phone_number", "+12124567890"),
        ("55 1234 5678", "MX", "phone_number", "+525512345678"),
        ("912 34 56 78", "ES", "phone_number", "+34912345678"),
        ("912 34 56 78", "es", "phone_number", "+34912345678"),
        ("0034 912 345 678", "ES", "phone_number", "+34912345678"),
        # A national prefix typed after the country code, in a valid number: dropped.
        ("+44 (0)20 7946 0000", "", "phone_number", "+442079460000"),
        # Outside Brazil's known ranges: parsing would drop "90" as a carrier code.
        ("+55 90 81762-0548", "", "phone_number", "+5590817620548"),
        (
            "9C7A3B1E-1111-4222-8333-444455556666",
            "",
            "id",
            "9c7a3b1e-1111-4222-8333-444455556666",
        ),
    ],
)
def test_values_are_recognised_and_normalised(text, region, kind, value):
    identifier = identifier_parse(text, default_region=region)
    assert (identifier.kind, identifier.value) == (kind, value)
    assert identifier.text == text.strip()


@pytest.mark.parametrize(
    "text, region, reason",
    [
        ("55 1234 5678", "", REASON_NATIONAL),  # national, and no country to read it with
        ("55 1234 5678", "XX", REASON_NATIONAL),  # an unknown region counts as none
        ("+52 55", "", REASON_PHONE),  # too short for Mexico
        ("+52 55 1234 5678 9999 1", "", REASON_PHONE),
        ("Ana Pérez", "", REASON_UNKNOWN),
        ("ana@", "", REASON_UNKNOWN),
        ("ana@example", "", REASON_UNKNOWN),
        ("a@b@example.com", "", REASON_UNKNOWN),
        ('=HYPERLINK("x")', "", REASON_UNKNOWN),
        ("..", "", REASON_UNKNOWN),
        ("", "", REASON_UNKNOWN),
        ("x" * 300 + "@example.com", "", REASON_UNKNOWN),
    ],
)
def test_anything_else_is_invalid_with_a_reason(text, region, reason):
    identifier = identifier_parse(text, default_region=region)
    assert identifier.kind == "invalid"
    assert not identifier.valid
    assert identifier.reason == reason


def test_repeats_are_the_same_key_whatever_the_typing():
    a = identifier_parse("Ana@Example.com")
    b = identifier_parse("ana@example.COM")
    assert a.key == b.key
    assert identifier_parse("+52 55 1234 5678").key == identifier_parse("+525512345678").key
    assert (
        identifier_parse("55-1234-5678", default_region="MX").key
        == identifier_parse("+52 (55) 1234 5678").key
    )


def test_regions():
    assert valid_region("MX") and valid_region("es")
    assert not valid_region("XX") and not valid_region("")


@pytest.mark.slow
def test_every_demo_phone_number_is_found_as_stored():
    from contacts.demo.data import contacts_for

    for org_id in ("org-tejo", "org-harbor", "org-andes"):
        for contact in contacts_for(org_id):
            phone = contact.get("phone_number")
            # E.164 as the API stores numbers (contacts.demo.quality spoils a few on purpose).
            if re.fullmatch(r"\+\d+", phone or ""):
                typed = f"{phone[:3]} {phone[3:6]}-{phone[6:]}"
                assert identifier_parse(typed).value == phone, typed


@pytest.mark.parametrize(
    "text, region, value, reason",
    [
        # What a spreadsheet makes of +55 47 91265-4800: read as international, and said so.
        ("5547912654800", "", "+5547912654800", REASON_PLUS_ADDED),
        ("5547912654800", "ES", "+5547912654800", REASON_PLUS_ADDED),
        ("55 47 91265-4800", "MX", "+5547912654800", REASON_PLUS_ADDED),
        # A valid national number of the region stays one.
        ("912 34 56 78", "ES", "+34912345678", ""),
        ("5512345678", "MX", "+525512345678", ""),
    ],
)
def test_a_number_whose_plus_was_dropped_is_read_as_international(text, region, value, reason):
    identifier = identifier_parse(text, default_region=region)
    assert (identifier.kind, identifier.value, identifier.reason) == ("phone_number", value, reason)
    assert identifier.valid


def test_digits_that_are_no_valid_number_either_way_still_need_the_country_code():
    identifier = identifier_parse("5590817620548")  # +55 90 is no valid range
    assert (identifier.kind, identifier.reason) == ("invalid", REASON_NATIONAL)
