"""How each kind of additional data reads on the contact page."""

import re
from urllib.parse import urlsplit

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from contacts.types import AdditionalField

register = template.Library()

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@register.simple_tag
def additional_value(item: AdditionalField) -> str:
    value = item.value
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return number_format(value, use_l10n=True)
    text = item.text
    if item.type == "location":
        return format_html("<address>{}</address>", linebreaksbr(text))
    if _is_web_url(text):
        return format_html('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>', text)
    if item.type == "email" or EMAIL.fullmatch(text):
        return format_html('<a href="mailto:{0}">{0}</a>', text)
    return linebreaksbr(text)
