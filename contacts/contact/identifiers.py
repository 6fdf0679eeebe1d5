"""What a typed or pasted value identifies a contact by: an email, a phone number or a contact id.

The API finds one contact by any of the three (`GET /contacts/{identifier}?identifierType=...`);
this module decides which one a value is and puts it in the form the API stores:

- an email: one `@`, something before it, a dotted domain after it, no spaces. Sent as typed
  (trimmed); repeats are recognised case-insensitively, as mail servers treat addresses.
- a phone number: digits with the separators people type (spaces, dashes, dots, brackets),
  either international (`+52 55 1234 5678`, `0052...` is not guessed) or, when the organisation
  has a `default_region`, national (`55 1234 5678`). Parsed with `phonenumbers`, accepted when it
  is a *possible* number for its country (the right length; whether the number is assigned is
  the API's business), sent in E.164 (`+525512345678`). A number of 10 to 15 digits without `+`
  that is no valid number of the default region (or there is none) but is a valid international
  number with a `+` is read as one (`5547912654800`: a spreadsheet dropped the `+` of
  `+55 47 91265-4800`), and says so (`REASON_PLUS_ADDED`).
- a contact id: a UUID, as the API's ids are. `plausible_contact_id` is wider: it admits any
  plain id a URL may carry to the contact page.

Anything else is `invalid`, with the reason a person can act on.
"""

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

Kind = Literal["email", "phone_number", "id", "invalid"]
KINDS: tuple[Kind, ...] = ("email", "phone_number", "id", "invalid")

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# What a contact id can look like: the API's ids are UUIDs; this also admits other plain ids, but
# never a dot segment, a slash, a query, a fragment, a percent sign or a URL.
CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~:@+-]{0,199}", re.ASCII)
UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# What a phone number may look like as typed: an optional +, digits and separators.
PHONE_TYPED = re.compile(r"\+?[\d\s().\-/]+")
E164_MAX_DIGITS = 15
MAX_LENGTH = 254  # the longest email address; nothing longer identifies a contact
REASON_NATIONAL = "national"  # a phone number without +, and no default region to read it with
REASON_PHONE = "phone"  # digits that are no possible phone number
REASON_UNKNOWN = "unknown"  # neither an email, nor a phone number, nor an id
# Of a valid phone number: read as international, its + missing.
REASON_PLUS_ADDED = "plus_added"
PLUS_DIGITS = range(10, E164_MAX_DIGITS + 1)  # digits of a number whose + may have been dropped


@dataclass(frozen=True, slots=True)
class Identifier:
    """One value, classified. `value` is what is sent upstream; `key` tells repeats apart."""

    text: str  # as given, trimmed
    kind: Kind
    value: str = ""
    reason: str = ""  # for `invalid` (or REASON_PLUS_ADDED): one of the REASON_ constants

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value.casefold() if self.kind == "email" else self.value)

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"


def valid_region(region: str) -> bool:
    """Whether `region` is a country code `phonenumbers` reads national numbers for."""
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def plausible_contact_id(value: str) -> bool:
    """Whether `value` can be a contact's id, so that asking the API for it makes sense."""
    return CONTACT_ID.fullmatch(value) is not None


def identifier_parse(text: str, *, default_region: str = "") -> Identifier:
    """Classify and normalise one value (see the module docstring)."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        return Identifier(text, "invalid", reason=REASON_UNKNOWN)
    if "@" in text:
        if EMAIL.fullmatch(text):
            return Identifier(text, "email", text)
        return Identifier(text, "invalid", reason=REASON_UNKNOWN)
    if UUID.fullmatch(text):
        return Identifier(text, "id", text.lower())
    if PHONE_TYPED.fullmatch(text) and any(c.isdigit() for c in text):
        return _phone(text, default_region)
    return Identifier(text, "invalid", reason=REASON_UNKNOWN)


def _without_plus(text: str) -> phonenumbers.PhoneNumber | None:
    """The number `text` is with a `+` before it, if it has 10 to 15 digits and is then valid."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) not in PLUS_DIGITS:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    return number


def _phone(text: str, default_region: str) -> Identifier:
    international = text.startswith("+")
    region = default_region.upper() if default_region and valid_region(default_region) else None
    if not international:
        plus = _without_plus(text)
        national = _national(text, region)
        if national is not None and phonenumbers.is_valid_number(national):
            return _e164(text, national, international=False)
        if plus is not None and phonenumbers.is_valid_number(plus):
            return _e164(text, plus, international=True, reason=REASON_PLUS_ADDED)
        if region is None:
            return Identifier(text, "invalid", reason=REASON_NATIONAL)
        if national is None or not phonenumbers.is_possible_number(national):
            return Identifier(text, "invalid", reason=REASON_PHONE)
        return _e164(text, national, international=False)
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return Identifier(text, "invalid", reason=REASON_PHONE)
    if not phonenumbers.is_possible_number(number):
        return Identifier(text, "invalid", reason=REASON_PHONE)
    return _e164(text, number, international=True)


def _national(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    if region is None:
        return None
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(
    text: str, number: phonenumbers.PhoneNumber, *, international: bool, reason: str = ""
) -> Identifier:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if international and not phonenumbers.is_valid_number(number):
        # For a number outside its country's known ranges, parsing may drop digits it takes
        # for a carrier code ("+55 90..."): keep the digits as typed, which is what was stored.
        digits = "".join(c for c in text if c.isdigit())
        if len(digits) <= E164_MAX_DIGITS:
            e164 = "+" + digits
    return Identifier(text, "phone_number", e164, reason)
