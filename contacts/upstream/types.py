"""Typed contacts, parsed once at the client's edge.

Nothing past the client sees Contactship's raw JSON. Parsing is tolerant field by field (a missing,
null or odd-typed field becomes an empty value) but strict about shape: something that is not an
object where a contact should be is an unexpected answer.
"""

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .errors import UpstreamBadResponse

log = logging.getLogger(__name__)

Scalar = str | int | float | bool | None

# What a contact id can look like: the API's ids are UUIDs; this also admits other plain ids, but
# never a dot segment, a slash, a query, a fragment, a percent sign or a URL.
CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~:@+-]{0,199}", re.ASCII)

# The API's own filter names, which are also the dashboard's GET parameters.
FILTER_FIELDS = ("full_name", "email", "phone_number")


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
    """The filters of one search, in the API's own parameter names.

    It stands in for a QuerySet so that django-filter can build it: `all()` and `filter()` with
    `<field>__icontains` lookups are all a FilterSet calls. Immutable, hashable, cacheable.
    """

    full_name: str = ""
    email: str = ""
    phone_number: str = ""

    model = None  # django-filter reads it; there is no model behind contacts.

    def all(self) -> "ContactQuery":
        return self

    def filter(self, **lookups: str) -> "ContactQuery":
        values: dict[str, str] = {}
        for lookup, value in lookups.items():
            name, _, expr = lookup.partition("__")
            if name not in FILTER_FIELDS or expr != "icontains":
                raise TypeError(f"Contactship cannot filter by {lookup!r}")
            values[name] = value
        return ContactQuery(**{**self.params(), **values})

    def params(self) -> dict[str, str]:
        """The non-empty filters, ready to send upstream or put in a URL."""
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name)}

    def __bool__(self) -> bool:
        return bool(self.params())


def plausible_contact_id(value: str) -> bool:
    """Whether `value` can be a contact's id, so that asking the API for it makes sense."""
    return CONTACT_ID.fullmatch(value) is not None


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
