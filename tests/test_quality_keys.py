"""The data-quality rules and duplicate keys, value by value."""

import pytest
from email_validator import EmailNotValidError, validate_email

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
from contacts.demo.data import DEMO_ORGANISATIONS, contacts_for


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


EDGE_EMAILS = [
    "ana@example.com",
    "Ana.Perez+news@Example.COM",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",  # email-validator takes a long local part unless strict
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",  # a label too long
    "a" * 200 + "@" + "b" * 50 + ".com",  # 255 characters: too long
    "a" * 199 + "@" + "b" * 50 + ".com",  # 254: not too long
    ".ana@example.com",
    "ana.@example.com",
    "ana..perez@example.com",
    "ana@-example.com",
    "ana@example-.com",
    "ana@example..com",
    "ana@example.com.",
    "ana@.example.com",
    "ana@example",
    "ana@example.123",
    "ana@123.com",
    "ana@localhost",
    "ana@server.local",
    "ana@site.test",
    "ana@x.invalid",
    "ana@example.onion",
    "postmaster@EXAMPLE.com",
    "a!#$%&'*+/=?^_`{|}~-@example.com",
    "ana@xn--mxico-bsa.com",
    "ana@méxico.com",
    "josé@example.com",
    '"ana perez"@example.com',
    "Ana <ana@example.com>",
    "ana@[192.168.0.1]",
    "ana@@example.com",
    "ana perez@example.com",
    "@example.com",
    "ana@",
]


@pytest.mark.parametrize("value", EDGE_EMAILS)
def test_email_key_agrees_with_email_validator(value):
    """email_key checks the usual address's domain on its own (cached); the verdict and the key
    are email-validator's own for every address."""
    try:
        want = validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        want = None
    assert email_key(value) == want
    assert email_key(f"  {value} ") == want


def test_email_key_agrees_with_email_validator_on_the_demo_data():
    values = [c.get("email") or "" for org in DEMO_ORGANISATIONS for c in contacts_for(org)]
    for value in values[:: max(1, len(values) // 5000)] + [v for v in values if "@" not in v]:
        try:
            want = validate_email(value.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            want = None
        assert email_key(value) == (want if value.strip() else None), value
