"""Typed contacts, parsed once at the client's edge.

Nothing past the client sees Contactship's raw JSON. Parsing is tolerant field by field (a missing,
null or odd-typed field becomes an empty value) but strict about shape: something that is not an
object where a contact should be is an unexpected answer.
"""

import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from .errors import UpstreamBadResponse

log = logging.getLogger(__name__)

Scalar = str | int | float | bool | None

# What a contact id can look like: the API's ids are UUIDs; this also admits other plain ids, but
# never a dot segment, a slash, a query, a fragment, a percent sign or a URL.
CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~:@+-]{0,199}", re.ASCII)

# The API's own filter names, which are also the dashboard's GET parameters.
FILTER_FIELDS = ("full_name", "email", "phone_number")
# Filters the API lacks, applied by the dashboard to each contact while it scans the pages.
POST_FILTER_FIELDS = ("country", "created_from", "created_to", "email_domain")


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


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """The filters of one search: the API's own (`full_name`, `email`, `phone_number`, partial
    matches sent upstream) and the dashboard's (`country`, `created_from`, `created_to`,
    `email_domain`, checked against each contact by `matches` while a scan walks the pages).

    It stands in for a QuerySet so that django-filter can build it: `all()` and `filter()` with
    `<field>__icontains` lookups for the API's filters and `<field>__exact` for the dashboard's
    are all a FilterSet calls. Immutable, hashable, cacheable.
    """

    full_name: str = ""
    email: str = ""
    phone_number: str = ""
    country: str = ""
    created_from: date | None = None
    created_to: date | None = None
    email_domain: str = ""

    model = None  # django-filter reads it; there is no model behind contacts.

    def all(self) -> "ContactQuery":
        return self

    def filter(self, **lookups: object) -> "ContactQuery":
        values: dict[str, object] = {}
        for lookup, value in lookups.items():
            name, _, expr = lookup.partition("__")
            if not (
                (name in FILTER_FIELDS and expr == "icontains")
                or (name in POST_FILTER_FIELDS and expr == "exact")
            ):
                raise TypeError(f"Contactship cannot filter by {lookup!r}")
            values[name] = value
        return replace(self, **values)

    def upstream_params(self) -> dict[str, str]:
        """The API's own non-empty filters, ready to send upstream."""
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name)}

    def params(self) -> dict[str, str]:
        """Every non-empty filter as it appears in a URL (dates as YYYY-MM-DD)."""
        params = self.upstream_params()
        for name in POST_FILTER_FIELDS:
            value = getattr(self, name)
            if value:
                params[name] = value.isoformat() if isinstance(value, date) else value
        return params

    @property
    def post_filtered(self) -> bool:
        """Whether the dashboard filters the contacts itself, which costs a scan."""
        return any(getattr(self, name) for name in POST_FILTER_FIELDS)

    def matches(self, contact: "Contact") -> bool:
        """Whether `contact` passes the dashboard's own filters (the API applied its own)."""
        if self.country:
            wanted = fold(self.country)
            if wanted == NO_COUNTRY:
                if contact.country.strip():
                    return False
            elif fold(contact.country) != wanted:
                return False
        if self.email_domain and email_domain(contact.email) != self.email_domain.lower():
            return False
        if self.created_from or self.created_to:
            if contact.created_at is None:
                return False
            day = contact.created_at.astimezone(UTC).date()
            if self.created_from and day < self.created_from:
                return False
            if self.created_to and day > self.created_to:
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.params())


def plausible_contact_id(value: str) -> bool:
    """Whether `value` can be a contact's id, so that asking the API for it makes sense."""
    return CONTACT_ID.fullmatch(value) is not None


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


def _text(value: Any) -> str:
    if value.__class__ is str:  # the usual case first: this runs for every field of every row
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return scalar_text(value)
    return json.dumps(value, ensure_ascii=False)


def _timestamp(value: Any) -> datetime | None:
    """The timestamp in UTC, or None when there is none or it is not a possible date.

    Converted here, once: `0001-01-01T00:00:00+05:00` parses, but its UTC time falls before
    year 1 (and `9999-12-31T23:59:59-05:00` after 9999), which no later conversion survives.
    """
    if value.__class__ is not str or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            # A timestamp without an offset is taken as UTC, the API's documented zone.
            return parsed.replace(tzinfo=UTC)
        return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _additional_data(value: Any) -> tuple[AdditionalField, ...]:
    if value.__class__ is not list:
        return ()
    fields = []
    for item in value:
        if item.__class__ is not dict:
            continue
        raw = item.get("value")
        scalar = raw if raw is None or isinstance(raw, str | int | float | bool) else _text(raw)
        fields.append(AdditionalField(_text(item.get("type")), _text(item.get("field")), scalar))
    return tuple(fields)


def contact_from_json(obj: Any) -> Contact:
    if obj.__class__ is not dict:
        raise UpstreamBadResponse(f"a contact is a {type(obj).__name__}, not an object")
    get = obj.get
    raw_created = get("created_at")
    created_at = _timestamp(raw_created)
    # Positional, in the fields' order: this runs for every row of an export.
    return Contact(
        _text(get("id")),
        created_at,
        _text(get("full_name")),
        _text(get("email")),
        _text(get("phone_number")),
        _text(get("country")),
        _text(get("description")),
        _text(get("organization_id")),
        _additional_data(get("additional_data")),
        "" if created_at is not None or raw_created is None else _text(raw_created)[:100],
    )


def contacts_from_json(body: Any) -> list[Contact]:
    if not isinstance(body, list):
        raise UpstreamBadResponse(f"the contact list is a {type(body).__name__}, not an array")
    return [contact_from_json(item) for item in body]


def additional_field_names(contacts: Iterable[Contact]) -> list[str]:
    """Distinct additional-data field names, in order of first appearance."""
    return list(dict.fromkeys(f.field for c in contacts for f in c.additional_data))
