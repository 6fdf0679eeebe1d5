"""The columns a search shows: the address's `columns=`, else the member's remembered choice, and
the column picker's plain form (it works without JavaScript) that changes that choice."""

from collections.abc import Iterable, Mapping

from django.http import QueryDict

from contacts.contact.columns import (
    CONTACT_COLUMNS,
    Columns,
    InvalidColumns,
    columns_text,
    data_key,
    parse_columns,
)
from contacts.contact.types import Contact, additional_field_names
from contacts.models import ColumnChoice
from contacts.search.params import (
    CHOOSE_PARAM,
    COLUMNS_PARAM,
    FORM_ONLY,
    PICK_ADD,
    PICK_MOVE,
    PICK_ORDER,
    PICK_SHOWN,
    PICKER_PARAMS,
    RESET_PARAM,
)
from contacts.search.tables import column_header

# What the table shows without a choice (and its additional-data preview column, which is no
# field and so not in the picker).
DEFAULT_TABLE_COLUMNS: Columns = (
    "full_name",
    "email",
    "phone_number",
    "country",
    "created_at",
    "description",
)


def requested_columns(data: Mapping[str, str]) -> Columns | None:
    """`columns=` of a request; None when absent or empty. Raises `InvalidColumns`."""
    return parse_columns(data.get(COLUMNS_PARAM, ""))


def remembered_columns(stored: str) -> Columns | None:
    """The member's last choice made with the picker (its `columns=` text), if any."""
    try:
        return parse_columns(stored)
    except InvalidColumns:
        return None  # remembered under older rules: the default rather than an error


def columns_chosen(*, user, organisation_id: str, data: QueryDict) -> list[tuple[str, str]]:
    """The picker's form (a POST): remember the choice, or forget it ("Reset columns"); returns
    the parameters of the address to show next, the search's own kept."""
    params = [(k, v) for k, v in data.items() if k not in PICKER_PARAMS and k not in FORM_ONLY]
    choices = ColumnChoice.objects.filter(user=user, organisation_id=organisation_id)
    if RESET_PARAM in data:
        choices.delete()
        return params
    picked = picked_columns(data)
    params.append((COLUMNS_PARAM, picked))
    if data.get(PICK_MOVE):
        params.append((CHOOSE_PARAM, "1"))  # moving one at a time: the picker stays open
    try:
        columns = parse_columns(picked)
    except InvalidColumns:
        return params  # not remembered: the address shows the error and the valid names
    if columns is None:
        choices.delete()
    else:
        ColumnChoice.objects.update_or_create(
            user=user, organisation_id=organisation_id, defaults={"columns": picked}
        )
    return params


def picked_columns(data: QueryDict) -> str:
    """The column picker's form -> the `columns=` it asks for."""
    order = [key for key in data.getlist(PICK_ORDER) if key]
    shown = set(data.getlist(PICK_SHOWN))
    added = data.get(PICK_ADD, "").strip()
    if added:
        key = data_key(added)
        if key not in order:
            order.append(key)
        shown.add(key)
    direction, _, moved = data.get(PICK_MOVE, "").partition(":")
    if moved in order:
        # A shown column moves past the next shown one (hidden ones in between change nothing
        # on screen); a hidden one past its neighbour.
        here = order.index(moved)
        step = -1 if direction == "up" else 1
        there = here + step
        while moved in shown and 0 <= there < len(order) and order[there] not in shown:
            there += step
        if 0 <= there < len(order):
            order[here], order[there] = order[there], order[here]
    return columns_text(key for key in order if key in shown)


def picker_rows(columns: Columns | None, contacts: Iterable[Contact]) -> list[dict]:
    """The picker's rows: the columns shown, in order, then the others this page can show (the
    contact fields, and the additional-data fields of the contacts on screen)."""
    shown = list(columns or DEFAULT_TABLE_COLUMNS)
    available = [*CONTACT_COLUMNS, *map(data_key, additional_field_names(contacts))]
    keys = shown + [key for key in available if key not in shown]
    return [
        {
            "key": key,
            "label": column_header(key),
            "shown": key in shown,
            "first": i == 0,
            "last": i == len(keys) - 1,
        }
        for i, key in enumerate(keys)
    ]
