"""Small helpers for the page templates."""

from datetime import UTC, datetime

from django import template
from django.conf import settings
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext

from contacts.access import accessible_organisations
from contacts.contact.types import iso_utc
from contacts.errors import Shown, shown
from contacts.exports.formats import EXPORTS, LOOKUP_FILES
from contacts.login import whole_minutes
from contacts.oidc import oidc_enabled

register = template.Library()


@register.filter
def grouped(value: int) -> str:
    """A whole number in the active language's style, thousands grouped: 12,345 or 12 345."""
    return number_format(value, use_l10n=True, force_grouping=True)


@register.simple_tag
def organisation_switch(user, organisation) -> list:
    """The user's other organisations, for the header's switch ([] when there is no other).

    One query (memberships) for a member, none for a superuser: the header shows it on every
    page of an organisation, the compact (framed) layout included.
    """
    if organisation is None or not getattr(user, "is_authenticated", False):
        return []
    return [a for a in accessible_organisations(user) if a.organisation.id != organisation.id]


@register.filter
def error_words(error: BaseException) -> Shown:
    """`error` as a person is shown it (`.title`, `.message`), from the one table of words."""
    return shown(error)


@register.simple_tag
def local_time(value: datetime) -> str:
    """`value` as a `<time>` the page's script shows in the viewer's own time zone, named; in
    UTC, saying so, until it does (and without the script)."""
    utc = value.astimezone(UTC)
    return format_html(
        '<time class="local-time" datetime="{}">{} UTC</time>',
        iso_utc(utc),
        date_format(utc, "DATETIME_FORMAT"),
    )


register.filter("whole_minutes", whole_minutes)


@register.simple_tag
def download_formats(offer: str) -> list:
    """The registry's formats a page offers as buttons, in their order: "export" (the search's
    downloads) or "lookup" (a bulk lookup's files)."""
    return list((EXPORTS if offer == "export" else LOOKUP_FILES).values())


@register.simple_tag
def language_choices() -> list[tuple[str, str]]:
    """settings.LANGUAGES as written there: each language by its own name, never translated
    (Django's `get_available_languages` translates them, so "English" read "Inglés")."""
    return list(settings.LANGUAGES)


@register.simple_tag
def oidc_provider_name() -> str:
    """The name on the login page's "Sign in with …" button; "" when OIDC is not configured."""
    if not oidc_enabled():
        return ""
    return settings.DASHBOARD_OIDC_NAME or gettext("your organisation's account")


@register.simple_tag
def access_contact() -> str:
    """Whom to ask for access (DASHBOARD_ACCESS_CONTACT), for the "no organisation" page."""
    return settings.DASHBOARD_ACCESS_CONTACT
