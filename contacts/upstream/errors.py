"""Every error type of the dashboard: what a call to Contactship, or an export, can end in, as the
person who asked is told it.

Two branches under `DashboardError`, because they mean different things to whoever reads them:

- `UpstreamError`: Contactship itself failed or refused (a 5xx, a timeout, a 401, an answer that
  is not the documented JSON...). Its subclasses say which.
- `DashboardRefusal`: the dashboard declined to make (or finish) the call on its own account (its
  limit on calls in flight, an open circuit breaker, an export over the page cap, too many
  exports running). Contactship
  may be perfectly well; an operator must not read these as upstream failures.

The client raises them with the low-level cause chained (`raise ... from`); the middleware and the
`export_contacts` command turn each into a page or a message. Messages are written for a team
member and never hold a key; `detail` is the operator's short, typed note.
"""

from django.utils.translation import gettext_lazy as _


class DashboardError(Exception):
    """Something went wrong with a call to Contactship; what a person is shown about it."""

    status = 503
    title = _("Contactship is not answering")
    message = _("The contacts service is unavailable at the moment. Please try again shortly.")
    # The message when Contactship said how long to wait (`retry_after`): "%(wait)s" is that
    # wait in words. None: the wait is not the person's to know (the dashboard's own).
    message_waiting = None
    retryable = True  # worth a "try again" link on the error page

    def __init__(self, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(detail or str(self.message))
        self.detail = detail
        self.retry_after = retry_after


class BodyTooLarge(Exception):
    """An answer larger than CONTACTSHIP_MAX_BODY_BYTES: reading stops there. Internal to the
    client, which reports it as `UpstreamBadResponse`."""


class Cancelled(Exception):
    """A scan's call ended because the scan was closed. Not a `DashboardError`: nobody is shown
    it; the scan that asked is gone."""


# --- Contactship failed --------------------------------------------------------------------------


class UpstreamError(DashboardError):
    """Contactship could not give a usable answer."""


class UpstreamUnavailable(UpstreamError):
    """A 5xx answer, a refused or reset connection."""

    message_waiting = _(
        "The contacts service is unavailable at the moment. Please try again in %(wait)s."
    )


class UpstreamRateLimited(UpstreamUnavailable):
    """429 answers kept coming, or asked for a longer wait than the dashboard allows."""

    title = _("Contactship is busy")
    message = _("The contacts service asked us to slow down. Please try again in a moment.")
    message_waiting = _("The contacts service asked us to slow down. Please try again in %(wait)s.")


class UpstreamTimeout(UpstreamError):
    status = 504
    title = _("Contactship is taking too long")
    message = _("The contacts service did not answer in time. Please try again.")


class UpstreamBadResponse(UpstreamError):
    """An answer that is not the documented JSON."""

    status = 502
    title = _("Unexpected answer from Contactship")
    message = _(
        "The contacts service sent an answer the dashboard does not understand. "
        "Please try again; if it keeps happening, tell an administrator."
    )


class PagingIgnored(UpstreamBadResponse):
    """A page repeated contacts already seen: the upstream ignores the paging parameters."""


class UpstreamAuthError(UpstreamError):
    """401: the organisation's key was rejected (or none is configured). Only an administrator
    can fix that."""

    status = 502
    title = _("This organisation's access to Contactship was refused")
    message = _(
        "Contactship rejected this organisation's API key. An administrator must update the key; "
        "trying again will not help."
    )
    retryable = False


class UpstreamBadRequest(UpstreamError):
    """400: Contactship refused the parameters. `detail` holds its complaint, for the form."""

    status = 400
    title = _("Contactship did not accept this search")
    message = _("Please check the search fields and try again.")
    retryable = False


class UpstreamNotFound(UpstreamError):
    status = 404
    title = _("Contact not found")
    message = _("This contact does not exist in Contactship, or it was deleted.")
    retryable = False


# --- The dashboard declined -----------------------------------------------------------------------


class DashboardRefusal(DashboardError):
    """The dashboard declined the call itself; nothing says Contactship is unwell."""


class CallsBusy(DashboardRefusal):
    """The organisation's limit on calls in flight (CONTACTSHIP_MAX_CONCURRENT_CALLS) stayed
    reached until the deadline."""

    title = _("Many searches and exports are running")
    message = _(
        "Many searches and exports are running for this organisation right now. "
        "Please try again in a moment."
    )


class CircuitOpen(DashboardRefusal):
    """Recent calls for this organisation failed; calls are refused for a cool-down."""

    message = _(
        "The contacts service failed several times in a row, so the dashboard is giving it a "
        "short rest. Please try again in a little while."
    )


class ExportTooLarge(DashboardRefusal):
    """The result needs more pages than CONTACTSHIP_MAX_EXPORT_PAGES: refused rather than cut."""

    status = 413
    title = _("This export is too large")
    message = _(
        "The contacts matching these filters are more than one export may hold. Narrow the "
        "filters (for example by name or email) and export the parts separately."
    )
    retryable = False


class PlacesBusy(DashboardRefusal):
    """No long request of this kind (export, summary, page lookup) may start now: the user's or
    this process's limit on those running (DASHBOARD_EXPORTS_PER_USER and its siblings; see
    `contacts.places`). The views answer it with their own 429 saying how many of the user's
    run."""

    status = 429
    title = CallsBusy.title
    message = _("Too many downloads are running right now. Please try again in a moment.")
    RETRY_AFTER = 30  # seconds: long requests take minutes; asking sooner only repeats the 429

    def __init__(self, *, scope: str, running: int, limit: int, kind: str = "export") -> None:
        super().__init__(
            f"{scope} {kind} limit reached ({running} running, limit {limit})",
            retry_after=self.RETRY_AFTER,
        )
        self.kind = kind  # "export", "summary" or "lookup"
        self.scope = scope  # "user" or "process"
        self.running = running
        self.limit = limit


# Its name before summaries and lookups had places of their own.
ExportsBusy = PlacesBusy


class ExportTimeLimit(Exception):
    """The download ran longer than DASHBOARD_EXPORT_MAX_SECONDS and was aborted. Not a
    `DashboardError`: it ends a download already under way, which can only be aborted."""
