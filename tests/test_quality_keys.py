"""The data-quality rules and duplicate keys, value by value."""

import pytest

from contacts.contact.quality import (
    INVALID_EMAIL,
    INVALID_PHONE,
    MISSING_EMAIL,
    MISSING_PHONE,
    email_invalid,
    email_key,
    name_key,
    phone_invalid,
    phone_key,
    quality_matches,
)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (" Ana@Example.COM ", "ana@example.com"),
        ("ana@example.com", "ana@example.com"),
        ("", None),
        ("   ", None),
        ("ana@", None),
        ("ana example.com", None),
        ("ana@@example.com", None),
    ],
)
def test_email_key_normalises_and_lowercases_whole(value, key):
    assert email_key(value) == key


def test_email_invalid_only_when_present():
    assert email_invalid("not-an-email")
    assert not email_invalid("  ")
    assert not email_invalid("ana@example.com")


@pytest.mark.parametrize(
    ("value", "region", "key"),
    [
        ("+55 47 91265-4800", "", "+5547912654800"),
        ("(47) 91265-4800", "BR", "+5547912654800"),
        ("47 91265-4800", "", None),  # national, no region to read it in
        ("12345", "BR", None),  # parses, but not a valid number
        ("call me", "BR", None),
        ("", "BR", None),
    ],
)
def test_phone_key_is_e164_of_valid_numbers(value, region, key):
    assert phone_key(value, region) == key


def test_phone_invalid_only_when_present():
    assert phone_invalid("12345", "BR")
    assert not phone_invalid(" ", "BR")
    assert not phone_invalid("+55 47 91265-4800")


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("José da Silva", "da jose silva"),
        ("  SILVA, José  da ", "da jose silva"),
        ("Jose Silva Silva", "jose silva"),
        ("Zoë_O'Brien", "brien o zoe"),
        ("---", None),
        ("", None),
    ],
)
def test_name_key_is_the_fingerprint(value, key):
    assert name_key(value) == key


def test_quality_matches_each_rule():
    def matches(rule, email="", phone=""):
        return quality_matches(rule, email=email, phone_number=phone, default_region="BR")

    assert matches(MISSING_EMAIL, email=" ")
    assert not matches(MISSING_EMAIL, email="a@example.com")
    assert matches(MISSING_PHONE)
    assert matches(INVALID_EMAIL, email="nope")
    assert not matches(INVALID_EMAIL)
    assert matches(INVALID_PHONE, phone="999")
    assert not matches(INVALID_PHONE, phone="(47) 91265-4800")
    with pytest.raises(ValueError):
        matches("nonsense")
