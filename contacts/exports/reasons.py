"""The words of a bulk lookup's rows, in the reader's language: why a value was not recognised,
which line a repeat repeats, why a value failed (in the words the search page uses for that
error, with the wait Contactship asked for), and what stopped the lookup.

The page, the script's stream and the files (`reason`) say the same, from here.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from contacts.contact.display import phone_display
from contacts.contact.identifiers import (
    REASON_NATIONAL,
    REASON_PHONE,
    REASON_PLUS_ADDED,
    Identifier,
)
from contacts.errors import error_named, shown
from contacts.upstream.lookup import DUPLICATE, FAILED, INVALID, LookupProgress, LookupRow


def invalid_reason(identifier: Identifier) -> str:
    """Why a value is no email, phone number or contact id, in a few words."""
    if identifier.reason == REASON_NATIONAL:
        return _("A phone number without its country code: write it with + and the country code")
    if identifier.reason == REASON_PHONE:
        return _("Not a phone number of the length its country uses")
    return _("Not an email, a phone number or a contact id")


def read_as(identifier: Identifier) -> str:
    """For a phone number read with the `+` it lacked: how it was read; else ""."""
    if identifier.reason != REASON_PLUS_ADDED:
        return ""
    return _("Read as %(number)s: the + was missing") % {"number": phone_display(identifier.value)}


def failure_reason(error: str, retry_after: float | None) -> str:
    """What a failure was, as the search page titles it, and the wait Contactship asked for."""
    seen = shown(error_named(error, retry_after))
    if seen.retry_after:
        return _("%(title)s, try again in %(seconds)s s") % {
            "title": seen.title,
            "seconds": seen.retry_after,
        }
    return seen.title


def row_reason(row: LookupRow) -> str:
    """The row's `reason`: "" for a plain found or not found value."""
    parts = [read_as(row.identifier)]
    if row.status == INVALID:
        parts.append(invalid_reason(row.identifier))
    elif row.status == DUPLICATE:
        parts.append(_("Repeats line %(line)s") % {"line": row.first_line})
    if row.result == FAILED:
        failure = failure_reason(row.error, row.retry_after)
        if not row.asked:
            failure = _("Not asked: %(reason)s") % {"reason": failure}
        parts.append(failure)
    return "; ".join(part for part in parts if part)


@dataclass(frozen=True)
class Stop:
    """What stopped a lookup, for the banner (the search page's title and message) and the
    summary line ("13 of 21 looked up; 8 not asked: …")."""

    title: str
    message: str
    summary: str


def lookup_stop(progress: LookupProgress) -> Stop | None:
    """Why the lookup stopped asking, if it did."""
    if not progress.stopped:
        return None
    seen = shown(error_named(progress.stopped, progress.retry_after))
    summary = _("%(looked)s of %(values)s looked up; %(not_asked)s not asked: %(reason)s") % {
        "looked": progress.done - progress.not_asked,
        "values": progress.values,
        "not_asked": progress.not_asked,
        "reason": failure_reason(progress.stopped, progress.retry_after),
    }
    return Stop(title=seen.title, message=seen.message, summary=summary)
