"""The names of a contact's columns, as the search page, the exports and `columns=` spell them.

The contact fields go by the export's column names (the API's own); an additional-data field by
`data.<field name>`. A choice is a tuple of such keys, in order, each once. It lives here, beside
the contact type, because the table (web) and the exports both read it and neither may import
the other.
"""

from collections.abc import Iterable

CONTACT_COLUMNS = (
    "id",
    "created_at",
    "full_name",
    "email",
    "phone_number",
    "country",
    "description",
    "organization_id",
)
DATA_PREFIX = "data."
SEPARATOR = ","
# Far more than anyone reads across; keeps a hostile URL from building a huge table or file.
MAX_COLUMNS = 100
MAX_NAME_LENGTH = 200

Columns = tuple[str, ...]


class InvalidColumns(ValueError):
    """`columns=` names something that is neither a contact field nor `data.<field name>`."""

    def __init__(self, invalid: list[str], reason: str = "") -> None:
        self.invalid = invalid
        self.reason = reason
        super().__init__(reason or f"not column names: {', '.join(invalid)}")


def data_key(field: str) -> str:
    return DATA_PREFIX + field


def data_field(key: str) -> str | None:
    """The additional-data field a key names, or None for a contact field."""
    return key[len(DATA_PREFIX) :] if key.startswith(DATA_PREFIX) else None


def column_label(key: str) -> str:
    """The name a file's header shows: the field name itself, for additional data."""
    field = data_field(key)
    return key if field is None else field


def parse_columns(text: str) -> Columns | None:
    """`full_name,email,data.dirección` -> its keys in order, each once; None (the default
    columns) for an empty value. Raises `InvalidColumns` naming every key that is not one.

    Spaces around a contact field's name are forgiven (`full_name, email`); after `data.` the
    field's name is taken as it is, since field names are the organisation's own text.
    """
    keys: list[str] = []
    invalid: list[str] = []
    for item in text.split(SEPARATOR):
        key = item.strip()
        if not key:
            continue
        if key not in CONTACT_COLUMNS:
            key = item.lstrip()
            field = data_field(key)
            if not field or not field.strip() or len(field) > MAX_NAME_LENGTH:
                invalid.append(item.strip())
                continue
        if key not in keys:
            keys.append(key)
    if invalid:
        raise InvalidColumns(invalid)
    if len(keys) > MAX_COLUMNS:
        raise InvalidColumns([], f"at most {MAX_COLUMNS} columns")
    return tuple(keys) or None


def columns_text(columns: Iterable[str]) -> str:
    return SEPARATOR.join(columns)
