"""The table of the search page: one page of contacts, with django-tables2's columns and headers.

`ContactTable` is a django-tables2 `Table` for its columns, verbose names, attributes, empty text
and template. Its rows are not rendered cell by cell through `BoundRow.items()` (which inspects
every render method's signature and, for date columns, compiles a template per cell: about 60 ms
for 100 rows, more than the API call the page waits for). Instead `body_rows()` gives every row
ready, from a builder per column written for this table, on django-tables2's documented API only:
`BoundColumn.attrs` for the cell's attributes, `BoundColumn.default` for an empty cell, the
column's own `render`, and the table's `render_<column>` methods. A column without a builder is
an error when the table renders, never a silently wrong cell. All HTML of a row is put together
through one escaping helper, `escape_html`, and `html_of`, which is `format_html` without its
lazy-string checks. tests/test_tables.py checks that the HTML is
the one of django-tables2's stock template.
"""

import html
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.template.defaultfilters import date as date_filter
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.contact.columns import Columns, column_label, data_field
from contacts.contact.display import cell_value, phone_display
from contacts.contact.identifiers import plausible_contact_id
from contacts.contact.types import Contact

# The additional data shown in a table cell; the contact page shows all of it.
ADDITIONAL_DATA_PREVIEW = 2
# Contact ids `reverse()` puts in a URL unchanged (the API's are UUIDs); see `contact_url`.
PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")
ID_PLACEHOLDER = "contact-id-placeholder-3f9c"

Row = tuple[str, SafeString]  # the <tr>'s attributes, and its <td> elements, as HTML
CellBuilder = Callable[[Contact], Any]  # a record -> the cell's content, text or safe HTML


def escape_html(value: Any) -> str:
    """The table's one escaping helper: what Django's `conditional_escape` gives, with the two
    usual cases first, since Django's general path checks every argument for lazy strings (it
    cost a third of the table's rendering). Plain text is escaped as Django's `escape` does
    (`html.escape`); safe HTML passes as it is; anything else goes to `conditional_escape`."""
    kind = type(value)
    if kind is str:
        return html.escape(value)
    if kind is SafeString:
        return value
    return conditional_escape(value)


def html_of(template: str, *values: Any) -> SafeString:
    """`format_html`'s contract (a trusted template, every value escaped by `escape_html`) at a
    third of its cost: 2 ms of a 100-row page's 7 ms went to `format_html`'s checks."""
    return mark_safe(template.format(*map(escape_html, values)))  # noqa: S308 - all escaped


def row_html(cells: Iterable[tuple[str, Any]]) -> SafeString:
    """The <td> elements of one row, from (attributes, content) pairs: the attributes are
    django-tables2's `AttributeDict.as_html()`, already escaped; every content goes through
    `escape_html`. (An f-string rather than `html_of`: this runs for every cell.)"""
    return mark_safe(  # noqa: S308 - attributes escaped by as_html, contents by escape_html
        "".join(f"<td {td}>{escape_html(content)}</td>" for td, content in cells)
    )


def titled(text: str) -> SafeString:
    """Text the stylesheet may cut to one line, whole in its title (shown on hover)."""
    return html_of('<span title="{}">{}</span>', text, text)


def cell_attrs(name: str, *classes: str, **attrs: str) -> dict[str, dict[str, str]]:
    """A column's <th>/<td> attributes: the class `col-<name>` on both (the stylesheet sizes
    each column, and lays a row out as a card on phones, by it), plus `classes` and `attrs`."""
    css = " ".join((f"col-{name}", *classes))
    return {"th": {"class": css}, "td": {"class": css, **attrs}}


def contact_page_url(org_id: str, contact_id: str | None) -> str:
    """The contact page of `contact_id`, or "" for an id no URL can carry (missing, empty, or
    with a "/"): wherever a contact is shown, it is then shown without a link, never a 500."""
    if not contact_id or not plausible_contact_id(contact_id):
        return ""
    try:
        return reverse("contact_detail", args=[org_id, contact_id])
    except NoReverseMatch:
        return ""


class DateColumn(tables.Column):
    """The day of a timestamp, in the current time zone and language: what
    `{{ value|date:"SHORT_DATE_FORMAT" }}` shows (`01/04/2019`, `04/01/2019` in Spanish: a
    narrow column), without the template per cell of django-tables2's `DateTimeColumn`."""

    day_format = "SHORT_DATE_FORMAT"

    @staticmethod
    def day(value: datetime) -> date:
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()

    def render(self, value: datetime | date) -> str:
        if isinstance(value, datetime):
            value = self.day(value)
        return date_filter(value, self.day_format)


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

    def render_full_name(self, value: str, record: Contact) -> str:
        label = value or _("(no name)")
        url = self.contact_url(record.id) if record.id else ""
        if not url:
            return label
        return html_of('<a href="{}" title="{}">{}</a>', url, label, label)

    def render_email(self, value: str) -> str:
        return titled(value)

    def render_phone_number(self, value: str) -> str:
        """The number as people read it (`+52 55 1234 5678`); the link dials the stored E.164."""
        return html_of('<a href="tel:{}">{}</a>', value, phone_display(value))

    def render_description(self, value: str) -> str:
        return titled(value)

    def render_additional_data(self, value, record: Contact) -> str:
        shown = value[:ADDITIONAL_DATA_PREVIEW]
        items = "".join(
            html_of('<li><span class="field">{}:</span> {}</li>', f.field, cell_value(f))
            for f in shown
        )
        more = len(value) - len(shown)
        if more:
            url = self.contact_url(record.id) if record.id else ""
            text = ngettext("+{n} more", "+{n} more", more).format(n=more)
            if url:
                items += html_of('<li class="more"><a href="{}">{}</a></li>', url, text)
            else:
                items += html_of('<li class="more">{}</li>', text)
        whole = "; ".join(f"{f.field}: {cell_value(f)}" for f in value)
        return html_of('<ul class="kv" title="{}">{}</ul>', whole, SafeString(items))

    def render_open(self, record: Contact) -> str:
        """The way to a contact when the name column is hidden: "Open", named for screen
        readers by the contact's name (or id)."""
        url = self.contact_url(record.id) if record.id else ""
        if not url:
            return ""
        return html_of(
            '<a href="{}">{}<span class="visually-hidden"> {}</span></a>',
            url,
            _("Open"),
            record.full_name or record.id,
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

    def body_rows(self) -> list[Row]:
        """Every row as `(tr attrs, its <td> elements)`, both HTML: what django-tables2's own
        template shows, columns in the table's order."""
        columns = [(bc.attrs["td"].as_html(), self._cell_builder(bc)) for bc in self.columns]
        # Rows share a few sets of attributes (even, odd): each set is written out once.
        row_attrs: dict[tuple, str] = {}
        rows = []
        for bound_row in self.paginated_rows:
            attrs = bound_row.attrs
            key = tuple(attrs.items())
            if key not in row_attrs:
                row_attrs[key] = attrs.as_html()
            record = bound_row.record
            rows.append((row_attrs[key], row_html((td, build(record)) for td, build in columns)))
        return rows

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
        return lambda record: self.render_full_name(record.full_name, record)

    def _open_cells(self, bound_column) -> CellBuilder:
        return self.render_open

    def _additional_data_cells(self, bound_column) -> CellBuilder:
        default = bound_column.default
        return lambda record: (
            self.render_additional_data(record.additional_data, record)
            if record.additional_data
            else default
        )

    def _created_cells(self, bound_column) -> CellBuilder:
        column, default = bound_column.column, bound_column.default
        days: dict[date, str] = {}  # a page's contacts share few days: each is written once

        def created(record: Contact) -> Any:
            value = record.created_at
            if value in column.empty_values:
                return default
            day = column.day(value)
            if day not in days:
                days[day] = column.render(value=day)
            return days[day]

        return created

    def _data_cells(self, bound_column) -> CellBuilder:
        field, default = bound_column.column.field, bound_column.default

        def data(record: Contact) -> Any:
            values = [cell_value(f) for f in record.additional_data if f.field == field]
            return titled("; ".join(values)) if values else default

        return data

    def _text_cells(self, bound_column) -> CellBuilder:
        name, default = bound_column.name, bound_column.default
        render = getattr(self, f"render_{name}", titled)
        empty = bound_column.column.empty_values

        def rendered(record: Contact) -> Any:
            value = getattr(record, name)
            return default if value in empty else render(value)

        return rendered

    def _country_cells(self, bound_column) -> CellBuilder:
        column, default = bound_column.column, bound_column.default

        def country(record: Contact) -> Any:
            value = record.country
            return default if value in column.empty_values else column.render(value=value)

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
