"""The data-quality part of a summary, counted in the summary's own scan: missing values,
invalid emails and phone numbers, and the groups of contacts that share an email, a phone number
or a name's fingerprint (the rules and keys are `contacts.contact.quality`'s).

Finding groups means remembering every key until the scan ends, so the keys are kept only as
keyed hashes: Python's own string hash (SipHash with the process's random key, PEP 456) of the
key together with a random salt made for this counter alone, one signed 64-bit number each in an
`array` (8 bytes a contact and kind of key, not a Python object). The numbers tell nothing of the
contacts without the salt, which lives as long as the counter, and the result holds counts only.
Two different keys sharing a hash is a chance of about one in 10^10 for 60,000 contacts.
(BLAKE2b with a random key did the same at three times the cost of the hashing.)
"""

import secrets
from array import array
from itertools import groupby
from typing import Any

from contacts.contact.quality import email_key, name_key, phone_key
from contacts.contact.types import Contact

# The fields whose missing values the summary counts, in the JSON's order.
MISSING_FIELDS = ("full_name", "email", "phone_number", "country")
# The duplicate figures: the JSON's name of each, and the key it groups by.
DUPLICATE_EMAIL = "duplicate_email"
DUPLICATE_PHONE = "duplicate_phone"
POSSIBLE_DUPLICATE_NAME = "possible_duplicate_name"
DUPLICATES = (DUPLICATE_EMAIL, DUPLICATE_PHONE, POSSIBLE_DUPLICATE_NAME)

Quality = dict[str, Any]  # the "quality" object of summary.json


class QualityCounter:
    """Quality counts over contacts, fed a page at a time; `default_region` is the
    organisation's, for phone numbers written without `+`."""

    def __init__(self, default_region: str = "") -> None:
        self.default_region = default_region
        self._salt = secrets.randbits(64)
        self.missing = dict.fromkeys(MISSING_FIELDS, 0)
        self.invalid_email = 0
        self.invalid_phone = 0
        self._hashes = {name: array("q") for name in DUPLICATES}

    def _hash(self, key: str) -> int:
        return hash((self._salt, key))

    def add(self, contacts: list[Contact]) -> None:
        missing, region, digest = self.missing, self.default_region, self._hash
        emails = self._hashes[DUPLICATE_EMAIL]
        phones = self._hashes[DUPLICATE_PHONE]
        names = self._hashes[POSSIBLE_DUPLICATE_NAME]
        for contact in contacts:
            if not contact.country.strip():
                missing["country"] += 1
            if (key := name_key(contact.full_name)) is not None:
                names.append(digest(key))
            elif not contact.full_name.strip():
                missing["full_name"] += 1
            if not contact.email.strip():
                missing["email"] += 1
            elif (key := email_key(contact.email)) is not None:
                emails.append(digest(key))
            else:
                self.invalid_email += 1
            if not contact.phone_number.strip():
                missing["phone_number"] += 1
            elif (key := phone_key(contact.phone_number, region)) is not None:
                phones.append(digest(key))
            else:
                self.invalid_phone += 1

    def result(self) -> Quality:
        return {
            "missing": dict(self.missing),
            "invalid_email": self.invalid_email,
            "invalid_phone": self.invalid_phone,
            **{name: _groups(self._hashes[name]) for name in DUPLICATES},
        }


def _groups(hashes: array) -> dict[str, int]:
    """How many values occur more than once, and how many times in all."""
    sizes = [n for n in (sum(1 for _ in run) for _, run in groupby(sorted(hashes))) if n > 1]
    return {"groups": len(sizes), "contacts": sum(sizes)}
