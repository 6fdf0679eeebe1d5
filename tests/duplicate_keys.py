"""The duplicate keys of the data-quality rules, written again for the tests from the rules'
words (not with the dashboard's code), over the demo API's raw JSON. No Django: the benchmarks
use them too."""

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def expected_key(raw: dict, by: str, region: str) -> str | None:
    if by == "email":
        value = text(raw.get("email"))
        if not value:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            return None
    if by == "phone":
        value = text(raw.get("phone_number"))
        if not value:
            return None
        try:
            if not value.startswith("+") and not region:
                return None
            number = phonenumbers.parse(value, None if value.startswith("+") else region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    plain = unicodedata.normalize("NFKD", text(raw.get("full_name")))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    words = re.sub(r"[\W_]+", " ", plain).split()
    return " ".join(sorted(set(words))) or None
