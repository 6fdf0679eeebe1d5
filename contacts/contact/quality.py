"""The data-quality rules for one contact's values, and the keys that tell duplicates apart.

Every value is trimmed of surrounding spaces before a rule applies.

- An email is *invalid* when email-validator's syntax check refuses it (no DNS look-up). Its
  duplicate key is the address as email-validator normalises it, lowercased whole.
- A phone number is *invalid* when `phonenumbers` cannot parse it or says it is not a valid
  number; a number without `+` is read in the organisation's `default_region`, and without one
  it is invalid. Its duplicate key is the number in E.164.
- A name's duplicate key is its *fingerprint*, OpenRefine's clustering key: Unicode NFKD with the
  combining marks removed, lowercased, every run of characters that are not letters or digits a
  single space, the distinct words sorted and joined by one space. An empty fingerprint is no
  key.

A key is `None` for a value that has none (missing or invalid).
"""

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from contacts.contact.identifiers import valid_region

# Runs of characters that are neither letters nor digits (the underscore counts as neither).
_SEPARATORS = re.compile(r"[\W_]+")
# The characters of an ASCII host name, which email-validator checks label by label.
_HOSTNAME = re.compile(r"[A-Za-z0-9.-]+")

# The values a quality rule can narrow a search to (the dashboard's `quality` filter).
INVALID_EMAIL = "invalid_email"
INVALID_PHONE = "invalid_phone"
MISSING_EMAIL = "missing_email"
MISSING_PHONE = "missing_phone"
QUALITY_FILTERS = (INVALID_EMAIL, INVALID_PHONE, MISSING_EMAIL, MISSING_PHONE)


def email_key(value: str) -> str | None:
    """The normalised, lowercased address; None when `value` is empty or not a valid address."""
    value = value.strip()
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    if (
        at
        and value.isascii()
        and len(value) <= EMAIL_MAX_LENGTH
        and DOT_ATOM_TEXT.match(local)
        and _HOSTNAME.fullmatch(domain)
    ):
        # The usual address, ASCII with a plain local part: email-validator takes such a local
        # part as it is and checks the domain on its own, so the domain's verdict (the costly
        # part of the check, the same for thousands of addresses) is the address's.
        domain = _domain_key(domain)
        return None if domain is None else f"{local}@{domain}".lower()
    return _checked_key(value)


def _checked_key(value: str) -> str | None:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


@lru_cache(maxsize=4096)
def _domain_key(domain: str) -> str | None:
    """The domain as email-validator normalises it, None when it refuses it."""
    key = _checked_key(f"a@{domain}")
    return None if key is None else key.partition("@")[2]


def phone_key(value: str, default_region: str = "") -> str | None:
    """The number in E.164; None when `value` is empty or no valid number (see the docstring)."""
    value = value.strip()
    if not value:
        return None
    return _phone_key(value, default_region.upper())


def _phone_key(value: str, region: str) -> str | None:
    international = value.startswith("+")
    if not international and not (region and valid_region(region)):
        return None
    try:
        number = phonenumbers.parse(value, None if international else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def name_key(value: str) -> str | None:
    """The name's fingerprint; None when nothing of it is a letter or a digit."""
    if value.isascii():  # nothing to decompose: most names, at a third of the cost
        folded = value.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", value.strip())
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    words = sorted(set(_SEPARATORS.sub(" ", folded).split()))
    return " ".join(words) or None


def email_invalid(value: str) -> bool:
    """Present (once trimmed) but refused by the syntax check."""
    return bool(value.strip()) and email_key(value) is None


def phone_invalid(value: str, default_region: str = "") -> bool:
    """Present (once trimmed) but not a valid number (see the module docstring)."""
    return bool(value.strip()) and phone_key(value, default_region) is None


def quality_matches(rule: str, *, email: str, phone_number: str, default_region: str = "") -> bool:
    """Whether a contact with these values falls under one of QUALITY_FILTERS."""
    if rule == MISSING_EMAIL:
        return not email.strip()
    if rule == MISSING_PHONE:
        return not phone_number.strip()
    if rule == INVALID_EMAIL:
        return email_invalid(email)
    if rule == INVALID_PHONE:
        return phone_invalid(phone_number, default_region)
    raise ValueError(f"unknown quality rule: {rule!r}")
