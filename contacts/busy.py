"""The answer to a long request refused for want of a place (`contacts.places`): 429 with
`Retry-After`, a page or JSON in the person's words, and one line for the operator (the user,
the organisation and the limit; never a filter value or a contact)."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from contacts.places import LOOKUP, SUMMARY
from contacts.upstream.errors import PlacesBusy

log = logging.getLogger(__name__)


def busy_texts(busy: PlacesBusy) -> tuple[str, str]:
    """(title, message) for the person refused, in the request's language."""
    values = {"running": busy.running, "limit": busy.limit}
    if busy.kind == SUMMARY:
        title = _("Too many summaries at once")
        if busy.scope == "user":
            message = _(
                "Summaries of yours being counted now: %(running)s. Each person may count "
                "%(limit)s at a time: wait for one of yours to finish, then try again."
            )
        else:
            message = _(
                "The dashboard is busy counting other people's summaries right now. Please "
                "try again in a minute."
            )
    elif busy.kind == LOOKUP:
        title = _("Too many lookups at once")
        if busy.scope == "user":
            message = _(
                "Bulk lookups of yours running now: %(running)s. Each person may run "
                "%(limit)s at a time: wait for one of yours to finish, then try again."
            )
        else:
            message = _(
                "The dashboard is busy with other people's lookups right now. Please try "
                "again in a minute."
            )
    else:
        title = _("Too many exports at once")
        message = _("Your exports running now: %(running)s.") + " "
        if busy.scope == "user":
            message += _(
                "Each person may run %(limit)s at a time: wait for one of yours to finish, "
                "then try again."
            )
        else:
            message += _(
                "The dashboard is busy with other people's exports right now. Please try "
                "again in a minute."
            )
    return title, message % values


def places_busy(request: HttpRequest, busy: PlacesBusy, *, as_json: bool = False) -> HttpResponse:
    """The 429 for `busy`: a page, or with `as_json` the JSON error shape of the JSON views."""
    log.warning(
        "%s refused user=%s org=%s limit=%s running=%d max=%d",
        busy.kind,
        request.user.get_username(),
        request.organisation.id,
        busy.scope,
        busy.running,
        busy.limit,
    )
    title, message = busy_texts(busy)
    if as_json:
        body = {
            "error": "too_many_running",
            "kind": busy.kind,
            "title": title,
            "message": message,
            "running": busy.running,
            "limit": busy.limit,
        }
        response = JsonResponse(body, status=429, json_dumps_params={"ensure_ascii": False})
    else:
        context = {"organisation": request.organisation, "busy": busy}
        if busy.kind in (SUMMARY, LOOKUP):
            template = "contacts/places_busy.html"
            context.update(title=title, message=message)
        else:
            template = "contacts/export_busy.html"
        response = render(request, template, context, status=429)
    response["Retry-After"] = str(round(busy.retry_after or PlacesBusy.RETRY_AFTER))
    response["Cache-Control"] = "no-store"
    return response
