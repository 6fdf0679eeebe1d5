"""The search's filters as command-line options, shared by the commands that scan a search
(`export_contacts`, `summarise_contacts`): the same names as the search page's fields, checked
by the same `ContactFilter`."""

from argparse import ArgumentParser

from django.core.management.base import CommandError

from contacts.contact.query import FILTER_FIELDS, POST_FILTER_FIELDS, ContactQuery
from contacts.search.filters import ContactFilter

HELP = {
    "full_name": "partial match on the name",
    "email": "partial match on the email",
    "phone_number": "partial match, e.g. +52",
    "country": "any name of the country, in any language (España, Espanha, Spain, ES); - for none",
    "created_from": "YYYY-MM-DD, inclusive, UTC",
    "created_to": "YYYY-MM-DD, inclusive, UTC",
    "email_domain": "exact domain after the @",
    "quality": "invalid_email, invalid_phone, missing_email or missing_phone",
}


def add_filter_arguments(parser: ArgumentParser) -> None:
    for name in FILTER_FIELDS + POST_FILTER_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", default="", help=HELP[name])


def query_from_options(options: dict) -> ContactQuery:
    """The query the options describe, or CommandError naming each option that is wrong."""
    filters = ContactFilter({name: options[name] for name in FILTER_FIELDS + POST_FILTER_FIELDS})
    if not filters.is_valid():
        problems = "; ".join(
            f"--{name.replace('_', '-')}: {' '.join(errors)}"
            for name, errors in filters.errors.items()
        )
        raise CommandError(f"Invalid filter: {problems}")
    return filters.qs
