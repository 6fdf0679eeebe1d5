"""Contactship's JSON turned into typed contacts, once, at the client's edge.

Parsing is tolerant field by field (a missing, null or odd-typed field becomes an empty value) but
strict about shape: something that is not an object where a contact should be is an unexpected
answer.
"""

import json
from datetime import UTC, datetime
from typing import Any

from contacts.contact.types import AdditionalField, Contact, scalar_text
from contacts.upstream.errors import UpstreamBadResponse


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
