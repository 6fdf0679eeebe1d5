"""A contact as the dashboard holds it: typed, immutable, never Contactship's raw JSON.

Also the small text rules every layer shares: how a country compares, an email's domain, a
timestamp as the API writes it.
"""

import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

Scalar = str | int | float | bool | None


class AdditionalField(NamedTuple):
    type: str
    field: str
    value: Scalar

    @property
    def text(self) -> str:
        """The value as a person reads it: booleans and numbers plainly, never `None`."""
        return scalar_text(self.value)


class Contact(NamedTuple):
    """One contact, immutable.

    A named tuple rather than a frozen dataclass: an export builds one per row, and a tuple is
    built several times faster (a frozen dataclass sets each field through
    `object.__setattr__`).
    """

    id: str
    created_at: datetime | None = None
    full_name: str = ""
    email: str = ""
    phone_number: str = ""
    country: str = ""
    description: str = ""
    organization_id: str = ""
    additional_data: tuple[AdditionalField, ...] = ()
    # The API's text of `created_at` when it is not a date the dashboard can use, for the
    # contact page; "" when `created_at` holds it (or there is none).
    created_at_text: str = ""

    @property
    def created_at_iso(self) -> str:
        return iso_utc(self.created_at)


# `country=-` narrows a search to the contacts without a country (missing, null or empty).
NO_COUNTRY = "-"


def fold(text: str) -> str:
    """`text` compared case- and accent-insensitively: "México", "MEXICO" and "mexico" agree."""
    if text.isascii():
        return text.strip().casefold()
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def email_domain(email: str) -> str:
    """The domain after the last `@`, lower-cased; "" for an address without one."""
    _, at, domain = email.rpartition("@")
    return domain.strip().lower() if at else ""


def iso_utc(value: datetime | None) -> str:
    """ISO 8601 in UTC with a `Z`, as the API writes timestamps."""
    if value is None:
        return ""
    if value.tzinfo is not UTC:  # parsed timestamps nearly always are UTC already
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def scalar_text(value: Scalar) -> str:
    if value.__class__ is str:  # the usual case first: this runs for every value exported
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def additional_field_names(contacts: Iterable[Contact]) -> list[str]:
    """Distinct additional-data field names, in order of first appearance."""
    return list(dict.fromkeys(f.field for c in contacts for f in c.additional_data))
