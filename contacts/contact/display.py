"""How a contact's values read: phone numbers, additional data on the page and in a cell."""

from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from django.template.defaultfilters import linebreaksbr
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from contacts.contact.identifiers import EMAIL
from contacts.contact.types import AdditionalField


@lru_cache(maxsize=4096)
def phone_display(number: str) -> str:
    """A phone number as people read it: `+52 55 1234 5678` for the API's `+525512345678`.

    The international format of the `phonenumbers` library, which groups the digits as the
    number's country does. A number it cannot parse (no `+`, too short) is shown as stored;
    links (`tel:`) and exports keep the stored E.164 text. Cached: a page shows the same few
    hundred numbers again and again, and parsing one costs ~30 µs.
    """
    if not number:
        return number
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class LocalFormat:
    """How values read in the active language: yes and no, numbers (Django's `number_format`).

    Read once and used for many values: each of Django's look-ups goes through its per-request
    locals, and a page of 100 contacts formats some 300 values (0.3 ms of a 2.4 ms table).
    """

    def __init__(self) -> None:
        language = get_language()
        self.yes, self.no = _("Yes"), _("No")
        self.decimal = get_format("DECIMAL_SEPARATOR", language)
        self.grouping = get_format("NUMBER_GROUPING", language)
        self.thousands = get_format("THOUSAND_SEPARATOR", language)

    def number(self, value: int | float) -> str:
        return numberformat.format(
            value, self.decimal, None, self.grouping, self.thousands, use_l10n=True
        )

    def plain_value(self, item: AdditionalField) -> str:
        """The value as plain text: yes/no, numbers localised."""
        value = item.value
        if value.__class__ is str:
            return value
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, int | float):
            return self.number(value)
        return item.text

    def cell_value(self, item: AdditionalField) -> str:
        """The value as one line of the results table: `plain_value`, a phone number as people
        read it (`phone_display`)."""
        if item.type == "phone" and item.value.__class__ is str:
            return phone_display(item.value)
        return self.plain_value(item)


def plain_value(item: AdditionalField) -> str:
    """The value as plain text in the active language: yes/no, numbers localised."""
    return LocalFormat().plain_value(item)


def additional_html(item: AdditionalField) -> str:
    if isinstance(item.value, bool | int | float):
        return plain_value(item)
    text = item.text
    if item.type == "location":
        return format_html("<address>{}</address>", linebreaksbr(text))
    if _is_web_url(text):
        return format_html('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>', text)
    if item.type == "email" or EMAIL.fullmatch(text):
        return format_html('<a href="mailto:{0}">{0}</a>', text)
    return linebreaksbr(text)
