"""How one value of a contact is written in a table cell: escaped HTML, the whole text in its
title where the stylesheet may cut it, phones as people read them, days in the reader's zone
and language. The search page's table (`contacts.search.tables`) builds its rows from these.
"""

import html
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any

import django_tables2 as tables
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from contacts.contact.display import phone_display
from contacts.contact.types import Contact

CellBuilder = Callable[[Contact], str]  # a record -> the cell's content, as escaped HTML


def escape(text: str) -> str:
    """Django's `escape` (`html.escape`, quotes too) without its lazy-string check and
    SafeString: the cells are plain strings, and this runs some 1,000 times a page. Text with
    none of `&<>"'` in it, most of a page's, is returned as it is: five `in` tests cost half of
    `html.escape`'s five replacements."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text)
    return text


def escape_html(value: Any) -> str:
    """What Django's `conditional_escape` gives, with the two usual cases first: plain text is
    escaped as Django's `escape` does (`html.escape`); safe HTML passes as it is; anything
    else (a lazy translation, a number) goes to `conditional_escape`."""
    kind = type(value)
    if kind is str:
        return escape(value)
    if kind is SafeString:
        return value
    return conditional_escape(value)


def titled_html(text: str) -> str:
    """Text the stylesheet may cut to one line, whole in its title (shown on hover)."""
    text = escape(text)
    return f'<span title="{text}">{text}</span>'


def phone_html(number: str) -> str:
    """The number as people read it (`+52 55 1234 5678`); the link dials the stored E.164.
    Spaces only are no number: no link (one without text would say nothing)."""
    if not number.strip():
        return escape(number)
    return f'<a href="tel:{escape(number)}">{escape(phone_display(number))}</a>'


def cell_attrs(name: str, *classes: str, **attrs: str) -> dict[str, dict[str, str]]:
    """A column's <th>/<td> attributes: the class `col-<name>` on both (the stylesheet sizes
    each column, and lays a row out as a card on phones, by it), plus `classes` and `attrs`."""
    css = " ".join((f"col-{name}", *classes))
    return {"th": {"class": css}, "td": {"class": css, **attrs}}


class DateColumn(tables.Column):
    """The day of a timestamp, in the current time zone and language: what
    `{{ value|date:"SHORT_DATE_FORMAT" }}` shows (`01/04/2019`, `04/01/2019` in Spanish: a
    narrow column), without the template per cell of django-tables2's `DateTimeColumn`."""

    day_format = "SHORT_DATE_FORMAT"

    @staticmethod
    def day(value: datetime, zone: tzinfo | None = None) -> date:
        """The day of `value` in `zone` (by default the current time zone)."""
        if not timezone.is_aware(value):
            return value.date()
        return value.astimezone(zone or timezone.get_current_timezone()).date()

    def render(self, value: datetime | date) -> str:
        if isinstance(value, datetime):
            value = self.day(value)
        return _day_text(value, self.day_format, get_language())


@lru_cache(maxsize=4096)
def _day_text(day: date, day_format: str, language: str | None) -> str:
    """A day as `language` writes it (the active one: it is in the key so that each language has
    its own). A page of contacts holds some 30 days, each costing 50 µs to format."""
    return date_filter(day, day_format)
