"""How every error is shown, wherever it is shown: one table, and a renderer per medium.

The taxonomy lives with the code that raises it (`contacts.upstream.errors`: each
`DashboardError` carries its status, title and message). This module maps it, in one table, to
what each medium needs: the words for a person (gettext, English and Spanish), the HTTP status,
`Retry-After`, the JSON shape, the state a download's progress records, and a command's exit
code. The renderers below read the table and nothing else:

- a page (`error_response`, which the middleware and the views call);
- JSON (`error_response(..., as_json=True)`, `error_json`);
- a stream's end, once the status has gone (`stream_end_json`);
- a download's progress (`progress_code`, `progress_reason`, `recorded_refusal`);
- the command line (`command_error`).

It sits below the exports and the views, so that both can render with it; it knows of places
only their kinds.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import CommandError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.places import LOOKUP, SUMMARY
from contacts.upstream.errors import (
    DashboardError,
    DashboardRefusal,
    ExportTimeLimit,
    ExportTooLarge,
    PagingIgnored,
    PlacesBusy,
)

log = logging.getLogger(__name__)

FAILED = "failed"  # the progress state of a download that ended in an error
UNEXPECTED = gettext_lazy("The export stopped unexpectedly. Please try again.")
# Answers that refused a download before it started, by status (a page, not an exception).
REFUSALS = {
    400: gettext_lazy("The search is not valid: check the search fields."),
    429: gettext_lazy("Too many downloads are running right now. Please try again in a moment."),
    503: gettext_lazy("Too many downloads are running right now. Please try again in a moment."),
}
STATUS_PREFIX = "status-"


def _class_words(error: BaseException) -> tuple[str, str]:
    return str(error.title), str(error.message)


def _busy_words(busy: PlacesBusy) -> tuple[str, str]:
    """(title, message) for a person refused a place, by the kind of place and whose limit."""
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


def _unexpected_words(error: BaseException) -> tuple[str, str]:
    return "", str(UNEXPECTED)


def _plain_json(error: BaseException, code: str, title: str, message: str) -> dict:
    return {"error": code, "title": title, "message": message}


def _busy_json(busy: PlacesBusy, code: str, title: str, message: str) -> dict:
    return {
        "error": code,
        "kind": busy.kind,
        "title": title,
        "message": message,
        "running": busy.running,
        "limit": busy.limit,
    }


@dataclass(frozen=True)
class Entry:
    """One row of the table. `None` in a column: the error class's own attribute."""

    words: Callable[[BaseException], tuple[str, str]] = _class_words
    status: int | None = None
    retry_after: float | None = None  # seconds, when the error itself names none
    json_code: str | None = None  # the JSON's "error"; None: the class's name
    json_shape: Callable[[BaseException, str, str, str], dict] = _plain_json
    # A download's progress: its words when they are not the title and message.
    progress_words: object = None
    # A refusal for want of a place leaves no progress behind: a script asking again and
    # again, each time with a new token, would otherwise leave a key per attempt.
    recorded: bool = True
    no_store: bool = False  # a refusal that holds for seconds only must not be cached
    exit_code: int = 1


TABLE: dict[type[BaseException], Entry] = {
    DashboardError: Entry(),
    PagingIgnored: Entry(
        progress_words=gettext_lazy(
            "Contactship sent the same contacts again instead of the next page, so the file "
            "would not be complete."
        )
    ),
    ExportTooLarge: Entry(
        progress_words=gettext_lazy(
            "The result is larger than an export may be. Narrow the search."
        )
    ),
    PlacesBusy: Entry(
        words=_busy_words,
        retry_after=PlacesBusy.RETRY_AFTER,
        json_code="too_many_running",
        json_shape=_busy_json,
        recorded=False,
        no_store=True,
    ),
    ExportTimeLimit: Entry(words=_unexpected_words, status=500, progress_words=UNEXPECTED),
    Exception: Entry(words=_unexpected_words, status=500, progress_words=UNEXPECTED),
}


def entry(error: BaseException | type[BaseException]) -> Entry:
    """The table's row for `error`: its class's, or its nearest ancestor's."""
    cls = error if isinstance(error, type) else type(error)
    for ancestor in cls.__mro__:
        if ancestor in TABLE:
            return TABLE[ancestor]
    return TABLE[Exception]


@dataclass(frozen=True)
class Shown:
    """One error as it is shown, in the request's language."""

    code: str
    title: str
    message: str
    status: int
    retry_after: int | None
    json: dict
    exit_code: int
    no_store: bool


def shown(error: BaseException) -> Shown:
    row = entry(error)
    title, message = row.words(error)
    status = row.status if row.status is not None else getattr(error, "status", 500)
    wait = getattr(error, "retry_after", None) or row.retry_after
    code = row.json_code or type(error).__name__
    return Shown(
        code=code,
        title=title,
        message=message,
        status=status,
        retry_after=retry_after_seconds(wait),
        json=row.json_shape(error, code, title, message),
        exit_code=row.exit_code,
        no_store=row.no_store,
    )


def retry_after_seconds(seconds: float | None) -> int | None:
    """`Retry-After` in whole seconds, at least one; None when there is nothing to wait for."""
    return max(1, round(seconds)) if seconds else None


def set_retry_after(response: HttpResponse, seconds: float | None) -> HttpResponse:
    """The one place `Retry-After` is written."""
    if (wait := retry_after_seconds(seconds)) is not None:
        response["Retry-After"] = str(wait)
    return response


# --- logs -----------------------------------------------------------------------------------------


def log_error_shown(
    request: HttpRequest, error: DashboardError, org_id: str, when: str = ""
) -> None:
    """The operator's one line for an error a person is shown, wherever the page shows it. The
    detail is the operator's: short, typed, never a key (the client writes it)."""
    log.warning(
        "%s shown org=%s path=%s error=%s detail=%s status=%d%s",
        "refusal" if isinstance(error, DashboardRefusal) else "upstream error",
        org_id,
        request.path,
        type(error).__name__,
        error.detail,
        error.status,
        when,
    )


def _log_refused(request: HttpRequest, busy: PlacesBusy, org_id: str) -> None:
    """A refusal for want of a place: the user, the organisation and the limit; never a filter
    value or a contact."""
    log.warning(
        "%s refused user=%s org=%s limit=%s running=%d max=%d",
        busy.kind,
        request.user.get_username(),
        org_id,
        busy.scope,
        busy.running,
        busy.limit,
    )


# --- pages and JSON -------------------------------------------------------------------------------


def error_json(request: HttpRequest, error: DashboardError, *, when: str = "") -> dict:
    """The JSON shape of `error`, its log line written."""
    _log(request, error, when)
    return shown(error).json


def _log(request: HttpRequest, error: DashboardError, when: str = "") -> None:
    org_id = getattr(getattr(request, "organisation", None), "id", "-")
    if isinstance(error, PlacesBusy):
        _log_refused(request, error, org_id)
    else:
        log_error_shown(request, error, org_id, when)


def error_response(
    request: HttpRequest, error: DashboardError, *, as_json: bool = False
) -> HttpResponse:
    """The answer to a request that `error` ended before its response started: a page for a
    person, or with `as_json` the JSON views' error shape; its status and `Retry-After`."""
    _log(request, error)
    seen = shown(error)
    if as_json:
        response = JsonResponse(
            seen.json, status=seen.status, json_dumps_params={"ensure_ascii": False}
        )
    else:
        organisation = getattr(request, "organisation", None)
        if isinstance(error, PlacesBusy):
            template = "contacts/places_busy.html"
        else:
            template = "contacts/upstream_error.html"
        context = {
            "error": error,
            "organisation": organisation,
            "title": seen.title,
            "message": seen.message,
        }
        response = render(request, template, context, status=seen.status)
    set_retry_after(response, seen.retry_after)
    if seen.no_store:
        response["Cache-Control"] = "no-store"
    return response


def stream_end_json(request: HttpRequest, error: DashboardError, *, when: str = "") -> bytes:
    """A JSON stream's last value when `error` ends it after its status has gone: the same shape
    as before the stream started."""
    return json.dumps(error_json(request, error, when=when), ensure_ascii=False).encode()


# --- a download's progress ------------------------------------------------------------------------


def progress_code(error: BaseException) -> str:
    """What a download's progress records of the error that ended it: its class's name."""
    return type(error).__name__


def refusal_code(status: int) -> str:
    return f"{STATUS_PREFIX}{status}"


def recorded_refusal(status: int) -> bool:
    """Whether a download refused with this status records it (see `Entry.recorded`)."""
    return status != PlacesBusy.status or TABLE[PlacesBusy].recorded


def _error_classes() -> dict[str, type]:
    found: dict[str, type] = {cls.__name__: cls for cls in TABLE}
    pending = [DashboardError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def progress_reason(code: str) -> str:
    """The words for a person, in the request's language, of a failure recorded as `code`."""
    if code.startswith(STATUS_PREFIX):
        status = code.removeprefix(STATUS_PREFIX)
        return str(REFUSALS.get(int(status), UNEXPECTED) if status.isdigit() else UNEXPECTED)
    cls = _error_classes().get(code, Exception)
    row = entry(cls)
    if row.progress_words is not None:
        return str(row.progress_words)
    return f"{cls.title}. {cls.message}"


def error_named(code: str, retry_after: float | None = None) -> DashboardError:
    """The error a record names by its class's name (a lookup's failed row), to be shown as if
    raised: its wait, if Contactship asked for one. An unknown name is the plain failure."""
    cls = _error_classes().get(code, DashboardError)
    if not issubclass(cls, DashboardError) or issubclass(cls, PlacesBusy):
        cls = DashboardError
    return cls(retry_after=retry_after)


# --- the command line -----------------------------------------------------------------------------


def command_error(error: DashboardError, action: str) -> CommandError:
    """The command's message and exit status for `error`, which ended `action` ("Export")."""
    seen = shown(error)
    return CommandError(
        f"{action} failed: {seen.title}. {seen.message} ({type(error).__name__}: {error.detail})",
        returncode=seen.exit_code,
    )
