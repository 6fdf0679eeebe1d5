"""The table of the search page: one page of contacts, rendered with django-tables2.

django-tables2 renders a table cell by cell through `BoundRow.items()`: for every cell it
resolves the accessor, reads the render method's signature with `inspect.signature` to choose
its arguments, recomputes the column's attributes, and for a `DateTimeColumn` compiles a new
template; the stock template then loops over the cells. For 100 rows that took about 60 ms, more
than the API call the page waits for.

`ContactTable` is still a django-tables2 `Table`: its columns, verbose names, attrs, empty text
and template are used as they are. But `body_rows()` works out once per column what its cells
need (attributes, accessor, which render method with which arguments), builds each row's cells
from plain attribute reads and direct calls, and `templates/contacts/table.html` loops over the
finished rows. Whatever this path cannot render exactly as django-tables2 does (records that are
not `Contact`s, linkified or many-to-many columns, render methods wanting the bound row,
attributes computed per cell, pinned rows) goes through django-tables2's own per-cell code.
tests/test_tables.py checks that the HTML is the one of django-tables2's stock template.
"""

import functools
import html
import inspect
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import django_tables2 as tables
from django.conf import settings
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.templatetags.l10n import localize, unlocalize
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext_lazy as _
from django_tables2.columns import ManyToManyColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import signature

from .templatetags.contact_display import plain_value
from .upstream.types import Contact

# The additional data shown in a table cell; the contact page shows all of it.
ADDITIONAL_DATA_PREVIEW = 2

# What the lean path gives a render method; one wanting more (the bound row, **kwargs) is
# called through django-tables2 instead.
CELL_ARGUMENTS = frozenset({"value", "record", "column", "bound_column", "table"})


@functools.cache
def _function_signature(function: Callable[..., Any]) -> tuple[tuple[str, ...], str | None]:
    return signature(function)


def _signature(render: Callable[..., Any]) -> tuple[tuple[str, ...], str | None]:
    """django-tables2's `signature` of a column's render, read once per function: columns are
    copied for every table, so their bound methods are new each time, and `inspect.signature`
    costs ~0.1 ms a column."""
    if inspect.ismethod(render):
        args, catch_all = _function_signature(render.__func__)
        return args[1:], catch_all  # without `self`, as for the bound method
    return signature(render)


# Contact ids that `reverse()` would put in the URL unchanged (the API's are UUIDs); others go
# through `reverse()` itself.
PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")
ID_PLACEHOLDER = "contact-id-placeholder-3f9c"

# `date` format characters whose output depends on the time of day or the zone, not only on the
# date (see django.utils.dateformat).
TIME_FORMAT_CHARACTERS = frozenset("aABcefgGhHiIOPrsTuUZ")

Cell = tuple[str, Any]  # the <td>'s attributes as HTML, and the cell's content
Row = tuple[str, SafeString]  # the <tr>'s attributes, and its <td> elements, as HTML


class LeanDateTimeColumn(tables.DateTimeColumn):
    """django-tables2's `DateTimeColumn`, rendered without a template per cell.

    The stock column compiles `{{ value|date:format|default:default }}` into a new template for
    every cell. This does what that template does: local time, the `date` filter, the column's
    default when that gives nothing, escaped.
    """

    def __init__(self, format: str | None = None, short: bool = True, **kwargs) -> None:
        super().__init__(format=format, short=short, **kwargs)
        self.format = format or ("SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT")

    def render(self, value, bound_column) -> SafeString:
        return self.renderer(bound_column)(value)

    def renderer(self, bound_column) -> Callable[[Any], SafeString]:
        """`render` for the cells of one rendering of the table: the time zone, the language's
        format and the default are looked up once, and when the format shows the date only
        (DATE_FORMAT does) each date is formatted once, as a page's contacts share few dates."""
        default = bound_column.default
        date_format = self.format
        zone = get_current_timezone() if settings.USE_TZ else None
        formatted: dict[date, SafeString] | None = None
        if _date_only(formats.get_format(date_format)):
            formatted = {}

        def render(value) -> SafeString:
            # As template_localtime(value): aware datetimes in the current time zone.
            if (
                zone is not None
                and isinstance(value, datetime)
                and value.utcoffset() is not None
                and getattr(value, "convert_to_local_time", True)
            ):
                value = value.astimezone(zone)
            if formatted is None or not isinstance(value, date):
                return conditional_escape(date_filter(value, date_format) or default)
            day = value.date() if isinstance(value, datetime) else value
            text = formatted.get(day)
            if text is None:
                text = formatted[day] = conditional_escape(
                    date_filter(value, date_format) or default
                )
            return text

        return render


def _date_only(date_format: str) -> bool:
    """True if `date_format` (a `date` filter format) shows nothing but the date."""
    characters = set(re.sub(r"\\.", "", date_format))  # a backslash quotes the next character
    return not characters & TIME_FORMAT_CHARACTERS


def _output(cell: Any, context: Context) -> str:
    """`cell` as `{{ cell }}` shows it in `context`; plain and safe strings, the usual cells,
    without the general path's lazy-string and localisation checks."""
    if type(cell) is str:
        return html.escape(cell)  # what escape() does, without its lazy-string wrapper
    if type(cell) is SafeString:
        return cell
    return render_value_in_context(cell, context)


def _static(attrs: Any) -> bool:
    """True if django-tables2's `computed_values` leaves `attrs` as they are (none callable)."""
    if callable(attrs):
        return False
    if isinstance(attrs, dict):
        return all(_static(value) for value in attrs.values())
    return True


class ContactTable(tables.Table):
    """One page of contacts, as the API returned it.

    No column sorts: the API cannot sort, and sorting only the rows on screen would look like
    sorting the whole result.
    """

    # dir="auto" isolates the cell's text (browsers give [dir] elements unicode-bidi: isolate):
    # a right-to-left override in a name or description cannot reorder what follows it.
    full_name = tables.Column(
        verbose_name=_("Name"), empty_values=(), attrs={"td": {"dir": "auto"}}
    )
    email = tables.Column(verbose_name=_("Email"))
    phone_number = tables.Column(verbose_name=_("Phone"), attrs={"td": {"class": "nowrap"}})
    country = tables.Column(verbose_name=_("Country"))
    created_at = LeanDateTimeColumn(
        verbose_name=_("Created"), format="DATE_FORMAT", attrs={"td": {"class": "nowrap"}}
    )
    # "optional": hidden on narrow screens (static/css/dashboard.css); the contact page has them.
    description = tables.Column(
        verbose_name=_("Description"),
        attrs={"th": {"class": "optional"}, "td": {"class": "wrap optional", "dir": "auto"}},
    )
    additional_data = tables.Column(
        verbose_name=_("Additional data"),
        empty_values=((),),
        attrs={"th": {"class": "optional"}, "td": {"class": "wrap optional"}},
    )

    class Meta:
        orderable = False
        template_name = "contacts/table.html"
        attrs = {"class": "contacts"}
        empty_text = _("No contacts match these filters.")

    def __init__(self, data, *, organisation_id: str, back_query: str = "", **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.organisation_id = organisation_id
        # The search's own parameters, so the contact page can lead back to the same results.
        self.back_query = f"?{back_query}" if back_query else ""
        self._contact_url_parts: tuple[str, str] | None = None

    def render_full_name(self, value: str, record: Contact) -> str:
        label = value or _("(no name)")
        url = self.contact_url(record.id) if record.id else ""
        if not url:
            return label
        # format_html's output, without the lazy-string checks of its escaping (a tenth of a
        # page's table): both parts are plain text here.
        return mark_safe(f'<a href="{html.escape(url)}">{html.escape(str(label))}</a>')  # noqa: S308

    def render_additional_data(self, value, record: Contact) -> str:
        shown = value[:ADDITIONAL_DATA_PREVIEW]
        items = "".join(
            f'<li><span class="field">{html.escape(f.field)}:</span> '
            f"{html.escape(plain_value(f))}</li>"
            for f in shown
        )
        more = len(value) - len(shown)
        if more:
            label = _("+{n} more").format(n=more)
            items += f'<li class="more">{escape(label)}</li>'
        return mark_safe(f'<ul class="kv">{items}</ul>')  # noqa: S308 - every part is escaped

    def contact_url(self, contact_id: str) -> str:
        """The contact page of `contact_id`, with the search's query string.

        The same as `reverse()`, which takes a hundredth of a millisecond a row: the URL is
        reversed once with a placeholder, and a plain id (one `reverse()` would not quote) put in
        its place.
        """
        if self._contact_url_parts is None:
            try:
                url = reverse("contact_detail", args=[self.organisation_id, ID_PLACEHOLDER])
            except NoReverseMatch:
                url = ""
            head, found, tail = url.partition(ID_PLACEHOLDER)
            self._contact_url_parts = (
                (head, tail) if found and ID_PLACEHOLDER not in tail else ("", "")
            )
        head, tail = self._contact_url_parts
        if head and PLAIN_ID.fullmatch(contact_id):
            return head + contact_id + tail + self.back_query
        try:
            return (
                reverse("contact_detail", args=[self.organisation_id, contact_id]) + self.back_query
            )
        except NoReverseMatch:
            return ""  # an id no URL can carry (a "/" in it): the name is shown without a link

    # --- the rows, for templates/contacts/table.html ------------------------------------------

    def body_rows(self) -> list[Row]:
        """Every row as `(tr attrs, its <td> elements)`, both HTML: the attributes and cells
        django-tables2's own template would show, columns in the table's order.

        The cells are joined here rather than in a template loop, which costs 6 µs a cell; each
        is output as `{{ cell }}` would in the table's template (a fresh context: autoescape,
        localisation and time zones on).
        """
        makers = [self._cell_maker(bound_column) for bound_column in self.columns]
        static_row_attrs = _static(self.row_attrs)
        by_parity: dict[int, str] = {}
        context = Context()
        rows: list[Row] = []
        for bound_row in self.paginated_rows:
            if static_row_attrs and type(bound_row) is BoundRow:
                parity = bound_row.row_counter % 2
                attrs = by_parity.get(parity)
                if attrs is None:
                    attrs = by_parity[parity] = bound_row.attrs.as_html()
            else:
                attrs = bound_row.attrs.as_html()
            cells = "".join(
                f"<td {td_attrs}>{_output(cell, context)}</td>"
                for td_attrs, cell in (make(bound_row) for make in makers)
            )
            rows.append((attrs, mark_safe(cells)))  # noqa: S308 - attrs and cells are escaped
        return rows

    def _cell_maker(self, bound_column) -> Callable[[BoundRow], Cell]:
        """How to make this column's cell of a row, worked out once for the table."""
        column = bound_column.column
        name = bound_column.name

        merged = {**self.attrs, **column.attrs}
        td_attrs = None
        if _static(merged.get("td", merged.get("cell", {}))):
            td_attrs = bound_column.attrs["td"].as_html()

        # The stock template shows {{ cell }}, {{ cell|localize }} or {{ cell|unlocalize }}.
        output: Callable[[Any], Any] | None = None
        if column.localize is not None:
            output = localize if column.localize else unlocalize

        def stock(bound_row: BoundRow) -> Cell:
            # django-tables2's own cell, as BoundRow.items() makes it.
            cell = bound_row.get_cell(name)
            attrs = td_attrs
            if attrs is None:
                bound_column.current_value = cell
                bound_column.current_record = bound_row.record
                attrs = bound_column.attrs["td"].as_html()
            return attrs, cell if output is None else output(cell)

        render = bound_column.render
        args, catch_all = _signature(render)
        accessor = str(bound_column.accessor)
        if (
            td_attrs is None
            or bound_column.link
            or isinstance(column, ManyToManyColumn)
            or catch_all
            or not CELL_ARGUMENTS.issuperset(args)
            or "." in accessor
            or "__" in accessor
        ):
            return stock

        method = getattr(render, "__func__", None)
        # Column.render returns the value as it is: no need to call it.
        plain = method is tables.Column.render
        # A column's own render prepared for this rendering (LeanDateTimeColumn), given the value.
        prepared = None
        if hasattr(column, "renderer") and method is type(column).render:
            prepared = column.renderer(bound_column)
        fixed = {"column": column, "bound_column": bound_column, "table": self}
        fixed = {key: value for key, value in fixed.items() if key in args}
        pass_value = "value" in args
        pass_record = "record" in args
        empty_values = column.empty_values

        def lean(bound_row: BoundRow) -> Cell:
            record = bound_row.record
            if type(record) is not Contact:
                return stock(bound_row)
            value = getattr(record, accessor, stock)
            if value is stock or callable(value):
                return stock(bound_row)  # missing, or a method django-tables2 would call
            if value in empty_values:
                cell = bound_column.default
            elif plain:
                cell = value
            elif prepared is not None:
                cell = prepared(value)
            else:
                kwargs = dict(fixed)
                if pass_value:
                    kwargs["value"] = value
                if pass_record:
                    kwargs["record"] = record
                cell = render(**kwargs)
            return td_attrs, cell if output is None else output(cell)

        return lean
