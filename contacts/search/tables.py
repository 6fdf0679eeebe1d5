"""The table of the search page: one page of contacts, with django-tables2's columns and headers.

`ContactTable` is a django-tables2 `Table` for its columns, verbose names, attributes, empty text
and template. Its rows are not rendered cell by cell through `BoundRow.items()` (which inspects
every render method's signature and, for date columns, compiles a template per cell: about 60 ms
for 100 rows, more than the API call the page waits for). Instead `body_html()` writes every row
at once, from a builder per column written for this table, on django-tables2's documented API
only: `BoundColumn.attrs` for the cell's attributes, `BoundColumn.default` for an empty cell, the
column's own `render`, and `BoundRow.attrs` (once per parity). A column without a builder is an
error when the table renders, never a silently wrong cell. Every value goes through `escape`
(`html.escape`, as Django's `escape`) or `escape_html`; the `render_<column>` methods, which the
stock template calls, use the same helpers. tests/test_tables.py checks that the HTML is the one
of django-tables2's stock template.
"""

import re
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from typing import Any

import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tables2.rows import BoundRow

from contacts.contact.columns import Columns, column_label, data_field
from contacts.contact.display import LocalFormat
from contacts.contact.identifiers import plausible_contact_id
from contacts.contact.types import Contact
from contacts.search.cells import (
    CellBuilder,
    DateColumn,
    cell_attrs,
    escape,
    escape_html,
    phone_html,
    titled_html,
)

# The additional data shown in a table cell; the contact page shows all of it.
ADDITIONAL_DATA_PREVIEW = 2
# Contact ids `reverse()` puts in a URL unchanged (the API's are UUIDs); see `contact_url`.
PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")
ID_PLACEHOLDER = "contact-id-placeholder-3f9c"
# Where the rows go in a table rendered before they came (`ContactTable.frame_html`); nothing
# typed can make it, since every value in a table is escaped.
ROWS_MARK = mark_safe("<!--table-rows-->")


def contact_page_url(org_id: str, contact_id: str | None) -> str:
    """The contact page of `contact_id`, or "" for an id no URL can carry (missing, empty, or
    with a "/"): wherever a contact is shown, it is then shown without a link, never a 500."""
    if not contact_id or not plausible_contact_id(contact_id):
        return ""
    try:
        return reverse("contact_detail", args=[org_id, contact_id])
    except NoReverseMatch:
        return ""


class ContactTable(tables.Table):
    """One page of contacts, as the API returned it.

    No column sorts: the API cannot sort, and sorting only the rows on screen would look like
    sorting the whole result.
    """

    # dir="auto" isolates the cell's text (browsers give [dir] elements unicode-bidi: isolate):
    # a right-to-left override in a name or description cannot reorder what follows it.
    # One line per contact: the stylesheet cuts long text with an ellipsis; the title of the
    # name, email, description and additional data holds the whole value (shown on hover), and
    # the contact page shows everything.
    full_name = tables.Column(
        verbose_name=_("Name"), empty_values=(), attrs=cell_attrs("full_name", dir="auto")
    )
    email = tables.Column(verbose_name=_("Email"), attrs=cell_attrs("email"))
    phone_number = tables.Column(verbose_name=_("Phone"), attrs=cell_attrs("phone_number"))
    country = tables.Column(verbose_name=_("Country"), attrs=cell_attrs("country"))
    created_at = DateColumn(verbose_name=_("Created"), attrs=cell_attrs("created_at"))
    # "optional": hidden on narrow screens (static/css/dashboard.css); the contact page has them.
    description = tables.Column(
        verbose_name=_("Description"), attrs=cell_attrs("description", "optional", dir="auto")
    )
    additional_data = tables.Column(
        verbose_name=_("Additional data"),
        empty_values=((),),
        attrs=cell_attrs("additional_data", "optional"),
    )

    class Meta:
        orderable = False
        template_name = "contacts/table.html"
        attrs = {"class": "contacts"}
        empty_text = _("No contacts match these filters.")

    def __init__(
        self,
        data,
        *,
        organisation_id: str,
        back_query: str = "",
        columns: Columns | None = None,
        **kwargs,
    ) -> None:
        if columns is not None:
            kwargs.update(chosen_columns(columns))
        super().__init__(data, **kwargs)
        self.chosen = columns
        self.organisation_id = organisation_id
        # The search's own parameters, so the contact page can lead back to the same results.
        self.back_query = f"?{back_query}" if back_query else ""
        self._url_around_id: tuple[str, str] | None = None
        # Translated once a table, not once a row.
        self._no_name = str(_("(no name)"))
        self._open_label = escape(str(_("Open")))
        self._more_labels: dict[int, str] = {}
        self._rows_to_come = False
        self._frame_cells: list[tuple[str, CellBuilder]] | None = None

    @cached_property
    def local(self) -> LocalFormat:
        """The active language's formats, read once a table rather than once a cell."""
        return LocalFormat()

    # django-tables2's `render_<column>` methods (its stock template calls them; the search
    # page's rows come from `body_html`), over the same HTML-writing helpers.

    def render_full_name(self, value: str, record: Contact) -> SafeString:
        return mark_safe(self._name_html(record))  # noqa: S308 - escaped by _name_html

    def render_email(self, value: str) -> SafeString:
        return mark_safe(titled_html(value))  # noqa: S308 - escaped by titled_html

    def render_phone_number(self, value: str) -> SafeString:
        return mark_safe(phone_html(value))  # noqa: S308 - escaped by phone_html

    def render_description(self, value: str) -> SafeString:
        return mark_safe(titled_html(value))  # noqa: S308 - escaped by titled_html

    def render_additional_data(self, value, record: Contact) -> SafeString:
        return mark_safe(self._additional_html(record))  # noqa: S308 - escaped there

    def render_open(self, record: Contact) -> SafeString:
        return mark_safe(self._open_html(record))  # noqa: S308 - escaped by _open_html

    def _name_html(self, record: Contact) -> str:
        """The name, linked to the contact's page (with the way back to this search)."""
        label = escape(record.full_name or self._no_name)
        url = self.contact_url(record.id) if record.id else ""
        if not url:
            return label
        return f'<a href="{escape(url)}" title="{label}">{label}</a>'

    def _additional_html(self, record: Contact) -> str:
        """The first ADDITIONAL_DATA_PREVIEW fields, "+N more" leading to the contact page, and
        all of them in the title."""
        fields = record.additional_data
        cell_value = self.local.cell_value
        items = ""
        whole = []
        for f in fields:
            text = cell_value(f)
            whole.append(f"{f.field}: {text}")
            if len(whole) <= ADDITIONAL_DATA_PREVIEW:
                items += f'<li><span class="field">{escape(f.field)}:</span> {escape(text)}</li>'
        more = len(fields) - ADDITIONAL_DATA_PREVIEW
        if more > 0:
            url = self.contact_url(record.id) if record.id else ""
            text = self._more_label(more)
            if url:
                items += f'<li class="more"><a href="{escape(url)}">{text}</a></li>'
            else:
                items += f'<li class="more">{text}</li>'
        return f'<ul class="kv" title="{escape("; ".join(whole))}">{items}</ul>'

    def _more_label(self, more: int) -> str:
        label = self._more_labels.get(more)
        if label is None:
            label = escape(ngettext("+{n} more", "+{n} more", more).format(n=more))
            self._more_labels[more] = label
        return label

    def _open_html(self, record: Contact) -> str:
        """The way to a contact when the name column is hidden: "Open", named for screen
        readers by the contact's name (or id)."""
        url = self.contact_url(record.id) if record.id else ""
        if not url:
            return ""
        name = escape(record.full_name or record.id)
        return (
            f'<a href="{escape(url)}">{self._open_label}'
            f'<span class="visually-hidden"> {name}</span></a>'
        )

    def contact_url(self, contact_id: str) -> str:
        """The contact page of `contact_id`, with the search's query string; "" for an id no URL
        can carry (a "/" in it): the name is then shown without a link.

        `reverse()` costs 1.2 ms for a page of 100 rows: the URL is reversed once around a
        placeholder, and an id that `reverse()` would not quote is put in its place.
        """
        if self._url_around_id is None:
            url = reverse("contact_detail", args=[self.organisation_id, ID_PLACEHOLDER])
            head, _, tail = url.partition(ID_PLACEHOLDER)
            self._url_around_id = (head, tail)
        if PLAIN_ID.fullmatch(contact_id) and plausible_contact_id(contact_id):
            head, tail = self._url_around_id
            return head + contact_id + tail + self.back_query
        url = contact_page_url(self.organisation_id, contact_id)
        return url + self.back_query if url else ""

    # --- the rows, for templates/contacts/table.html ------------------------------------------

    def body_html(self) -> SafeString:
        """Every row, `<tr>` and its `<td>` elements, as django-tables2's own template shows
        them; ROWS_MARK instead while `frame_html` renders the table around the rows to come."""
        if self._rows_to_come:
            return ROWS_MARK
        return self.rows_html(row.record for row in self.paginated_rows)

    def rows_html(
        self, records: Iterable[Contact], cells: list[tuple[str, CellBuilder]] | None = None
    ) -> SafeString:
        """The rows of `records`, columns in the table's order. Cells are written by one builder
        per column (`_cell_builder`; `cells` when made already), each giving escaped HTML; rows
        share their attributes by parity unless the table gives rows attributes of their own."""
        cells = cells or self._cells()
        parity: list[str] = []
        html: list[str] = []  # joined once: the page's ~2,000 pieces, no string per row
        add = html.append
        for index, record in enumerate(records):
            if self.row_attrs or index < 2:
                row = BoundRow(record, table=self)
                row.row_counter = index  # "even" or "odd" by the row's place on this page
                attrs = row.attrs.as_html()
                parity.append(attrs)
            else:
                attrs = parity[index % 2]
            add(f"\n<tr {attrs}>" if index else f"<tr {attrs}>")
            for td, build in cells:
                add(td)
                add(build(record))
                add("</td>")
            add("</tr>")
        return mark_safe("".join(html))  # noqa: S308 - attributes by as_html, cells escaped

    def frame_html(self, request: HttpRequest) -> str:
        """The table as `{% render_table %}` shows it, ROWS_MARK where its rows go: the search
        page renders it while Contactship works on the answer, and `with_rows` fills it."""
        self._frame_cells = self._cells()  # in this rendering's language and time zone
        self._rows_to_come = True
        try:
            return self.as_html(request)
        finally:
            self._rows_to_come = False

    def with_rows(self, frame: str, records: Iterable[Contact]) -> SafeString:
        """`frame` (from `frame_html`) with the rows of `records` in it."""
        rows = self.rows_html(records, self._frame_cells)
        return mark_safe(frame.replace(ROWS_MARK, rows, 1))  # noqa: S308 - both HTML already

    def _cells(self) -> list[tuple[str, CellBuilder]]:
        """Each column's opening `<td>` and cell builder, in the table's order."""
        return [(f"<td {bc.attrs['td'].as_html()}>", self._cell_builder(bc)) for bc in self.columns]

    def _cell_builder(self, bound_column) -> CellBuilder:
        """How this column's cell is made from a contact; an error for a column without one."""
        name = bound_column.name
        kind = "data" if name.startswith(DATA_COLUMN) else CELL_KINDS.get(name)
        if kind is None:
            raise ImproperlyConfigured(
                f"ContactTable's column {name!r} has no cell builder: add one to "
                "ContactTable._cell_builder, or the search page cannot show it."
            )
        return getattr(self, f"_{kind}_cells")(bound_column)

    def _full_name_cells(self, bound_column) -> CellBuilder:
        return self._name_html

    def _open_cells(self, bound_column) -> CellBuilder:
        return self._open_html

    def _additional_data_cells(self, bound_column) -> CellBuilder:
        default = escape_html(bound_column.default)
        additional = self._additional_html
        return lambda record: additional(record) if record.additional_data else default

    def _created_cells(self, bound_column) -> CellBuilder:
        column, default = bound_column.column, escape_html(bound_column.default)
        days: dict[date, str] = {}  # a page's contacts share few days: each is written once
        zone = timezone.get_current_timezone()  # once a table: a look-up costs as much as a cell

        def created(record: Contact) -> str:
            value = record.created_at
            if value in column.empty_values:
                return default
            day = column.day(value, zone)
            if day not in days:
                days[day] = escape_html(column.render(value=day))
            return days[day]

        return created

    def _data_cells(self, bound_column) -> CellBuilder:
        field, default = bound_column.column.field, escape_html(bound_column.default)

        cell_value = self.local.cell_value

        def data(record: Contact) -> str:
            values = [cell_value(f) for f in record.additional_data if f.field == field]
            return titled_html("; ".join(values)) if values else default

        return data

    def _text_cells(self, bound_column) -> CellBuilder:
        name, default = bound_column.name, escape_html(bound_column.default)
        write = phone_html if name == "phone_number" else titled_html
        empty = bound_column.column.empty_values

        def text(record: Contact) -> str:
            value = getattr(record, name)
            return default if value in empty else write(value)

        return text

    def _country_cells(self, bound_column) -> CellBuilder:
        column, default = bound_column.column, escape_html(bound_column.default)

        def country(record: Contact) -> str:
            value = record.country
            if value in column.empty_values:
                return default
            return escape_html(column.render(value=value))

        return country


# Which builder makes each column's cells (`ContactTable._cell_builder`); `data_<n>` columns are
# additional-data fields.
CELL_KINDS = {
    "full_name": "full_name",
    "open": "open",
    "additional_data": "additional_data",
    "created_at": "created",
    "email": "text",
    "phone_number": "text",
    "description": "text",
    "id": "text",
    "organization_id": "text",
    "country": "country",
}


# --- chosen columns (`columns=`) -----------------------------------------------------------------

OPEN_COLUMN = "open"
DATA_COLUMN = "data_"  # + the field's position in the choice: a field's name may be any text
# The contact fields the table does not show by default, and their headers.
EXTRA_FIELD_NAMES = {"id": _("Id"), "organization_id": _("Organisation id")}


class DataColumn(tables.Column):
    """One additional-data field, by name: its values (repeated ones joined), or the default."""

    def __init__(self, field: str, **kwargs) -> None:
        # col-data: sized and cut to one line, and placed in a phone's card, as the others are.
        # data-label: a phone's card has no header row, so it names the value itself.
        attrs = cell_attrs("data", dir="auto", **{"data-label": field})
        super().__init__(verbose_name=field, attrs=attrs, **kwargs)
        self.field = field


def chosen_columns(columns: Columns) -> dict[str, Any]:
    """The `Table` arguments that show exactly `columns`, in order (django-tables2's documented
    `extra_columns`, `sequence` and `exclude`). The name column keeps the link to the contact;
    without it, an "Open" column comes first, so that a contact can always be opened."""
    extra: list[tuple[str, tables.Column]] = []
    sequence: list[str] = []
    if "full_name" not in columns:
        extra.append(
            (
                OPEN_COLUMN,
                tables.Column(
                    verbose_name=_("Contact"), empty_values=(), attrs=cell_attrs(OPEN_COLUMN)
                ),
            )
        )
        sequence.append(OPEN_COLUMN)
    for position, key in enumerate(columns):
        field = data_field(key)
        if field is not None:
            name = f"{DATA_COLUMN}{position}"
            extra.append((name, DataColumn(field, empty_values=())))
        elif key in EXTRA_FIELD_NAMES:
            name = key
            label = EXTRA_FIELD_NAMES[key]
            attrs = cell_attrs(key, **{"data-label": label})
            column = tables.Column(verbose_name=label, attrs=attrs)
            extra.append((name, column))
        else:
            name = key
        sequence.append(name)
    shown = set(sequence)
    exclude = [name for name in ContactTable.base_columns if name not in shown]
    return {"extra_columns": extra, "sequence": sequence, "exclude": exclude}


def column_header(key: str) -> str:
    """What the picker calls a column: the table's header, or the additional-data field's name."""
    if data_field(key) is not None:
        return column_label(key)
    if key in EXTRA_FIELD_NAMES:
        return str(EXTRA_FIELD_NAMES[key])
    return str(ContactTable.base_columns[key].verbose_name)
