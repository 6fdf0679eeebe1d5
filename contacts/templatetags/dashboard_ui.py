"""Small helpers for the page templates."""

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def grouped(value: int) -> str:
    """A whole number in the active language's style, thousands grouped: 12,345 or 12 345."""
    return number_format(value, use_l10n=True, force_grouping=True)
