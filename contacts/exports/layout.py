"""The columns and cells of an export, whatever its format, safe to open in a spreadsheet.

Chosen columns (`columns=`, see `contacts.contact.columns`): exactly those, in that order; an
additional-data field chosen by name has its own column whatever page it first appears on.

Default columns: the contact fields in the API's own names, then one column per additional-data
field seen in the first page, then `other_additional_data` for fields first seen later, as
`field: value` pairs. The header has to go out before the last page is fetched (the download must
start at once and memory must stay flat), so later fields cannot get columns of their own; they
are kept, never dropped.

`ExportLayout` decides the columns and the cell values once; each format (`csv`, `xlsx`) only
serialises them.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from contacts.contact.columns import CONTACT_COLUMNS, Columns, column_label, data_field
from contacts.contact.types import Contact, Scalar, additional_field_names, scalar_text

CREATED_AT = CONTACT_COLUMNS.index("created_at")
OTHER_COLUMN = "other_additional_data"
# Repeated fields of one contact share a cell.
JOIN = "; "

# OWASP CSV injection: spreadsheets run a cell that starts with one of these as a formula; their
# full-width forms too, which spreadsheets in East Asian locales read as the ASCII ones.
FORMULA_START = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
PHONE_NUMBER = re.compile(r"\+[0-9]+")

Cell = str | datetime | None
# A typed cell (XLSX): numbers, yes/no values and dates keep their type.
TypedCell = str | int | float | bool | datetime | None


def spreadsheet_safe(value: str) -> str:
    """Prefix an apostrophe to what a spreadsheet would run, except a bare phone number.

    "+12124567890" stays as the API gave it: a spreadsheet shows it as a number at worst, runs
    nothing, and the value survives a round trip.
    """
    if value and value[0] in FORMULA_START and not PHONE_NUMBER.fullmatch(value):
        return "'" + value
    return value


@dataclass
class Progress:
    """What an export has written so far; formats update it, the audit and the CLI read it."""

    rows: int = 0
    pages: int = 0


class ExportLayout:
    """The columns of one export: those chosen, or by default fixed by its first page."""

    def __init__(self, first_page: list[Contact], columns: Columns | None = None) -> None:
        self.columns = columns
        if columns is not None:
            self._chosen_fields = {f for f in map(data_field, columns) if f is not None}
            self.created_at_index = columns.index("created_at") if "created_at" in columns else None
            return
        self.created_at_index = CREATED_AT
        self.extra_fields = additional_field_names(first_page)
        self._known = set(self.extra_fields)
        self._no_extra = [""] * (len(self.extra_fields) + 1)

    @property
    def names(self) -> list[str]:
        """The column names as they are (for a format whose text cells cannot run)."""
        if self.columns is not None:
            return [column_label(key) for key in self.columns]
        return [*CONTACT_COLUMNS, *self.extra_fields, OTHER_COLUMN]

    def _chosen(self, contact: Contact, joined) -> list:
        """One row of chosen columns: contact fields as they are, each chosen additional-data
        field's values given to `joined` (the values of that field, in order)."""
        found: dict[str, list[tuple[str, Scalar]]] = {}
        for kind, name, value in contact.additional_data:
            if name in self._chosen_fields:
                found.setdefault(name, []).append((kind, value))
        row = []
        for key in self.columns:
            field = data_field(key)
            if field is None:
                row.append(getattr(contact, key))
            else:
                row.append(joined(found.get(field)))
        return row

    @property
    def header(self) -> list[str]:
        # Field names come from the data too, so they get the same treatment as values.
        return [spreadsheet_safe(n) for n in self.names]

    def values(self, contact: Contact) -> list[Cell]:
        """One row: `created_at` as a datetime (or None), every other cell spreadsheet-safe text.

        This runs for every exported contact, so the common cases take the short way: a cell
        that cannot be a formula is not checked further.
        """
        if self.columns is not None:
            row = self._chosen(contact, _joined_text)
            return [
                value
                if value.__class__ is not str or not value or value[0] not in FORMULA_START
                else spreadsheet_safe(value)
                for value in row
            ]
        texts = [
            contact.id,
            contact.full_name,
            contact.email,
            contact.phone_number,
            contact.country,
            contact.description,
            contact.organization_id,
        ]
        if contact.additional_data:
            extra: dict[str, str] = {}
            other: list[str] = []
            for _kind, name, value in contact.additional_data:
                text = scalar_text(value)
                if name not in self._known:
                    other.append(f"{name}: {text}")
                elif name in extra:
                    extra[name] += JOIN + text
                else:
                    extra[name] = text
            texts += [extra.get(name, "") for name in self.extra_fields]
            texts.append(JOIN.join(other))
        else:
            texts += self._no_extra
        row: list[Cell] = [spreadsheet_safe(t) if t and t[0] in FORMULA_START else t for t in texts]
        row.insert(CREATED_AT, contact.created_at)
        return row

    def typed_values(self, contact: Contact) -> list[TypedCell]:
        """One row for a format with typed cells (XLSX): exactly the upstream's values.

        No apostrophe is added: such a format can store formula-looking text as text. An
        additional-data field with one value keeps its type (a number, yes/no, a date when its
        type says `date`/`datetime`); repeated fields share a text cell as in the CSV.
        """
        if self.columns is not None:
            return self._chosen(contact, _joined_typed)
        row: list[TypedCell] = [
            contact.id,
            contact.created_at,
            contact.full_name,
            contact.email,
            contact.phone_number,
            contact.country,
            contact.description,
            contact.organization_id,
        ]
        found: dict[str, list[tuple[str, Scalar]]] = {}
        other: list[str] = []
        for kind, name, value in contact.additional_data:
            if name in self._known:
                found.setdefault(name, []).append((kind, value))
            else:
                other.append(f"{name}: {scalar_text(value)}")
        for name in self.extra_fields:
            entries = found.get(name)
            if not entries:
                row.append("")
            elif len(entries) == 1:
                row.append(_typed(*entries[0]))
            else:
                row.append(JOIN.join(scalar_text(value) for _kind, value in entries))
        row.append(JOIN.join(other))
        return row


DATE_TYPES = ("date", "datetime")


def _joined_text(entries: list[tuple[str, Scalar]] | None) -> str:
    return JOIN.join(scalar_text(value) for _kind, value in entries) if entries else ""


def _joined_typed(entries: list[tuple[str, Scalar]] | None) -> TypedCell:
    if not entries:
        return ""
    if len(entries) == 1:
        return _typed(*entries[0])
    return _joined_text(entries)


def _typed(kind: str, value: Scalar) -> TypedCell:
    if kind in DATE_TYPES and value.__class__ is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed
    return value
