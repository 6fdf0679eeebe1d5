"""What can go wrong upstream, as the client reports it.

The client turns every `requests` exception and every non-2xx answer into one of these; the
middleware turns each into a page. Messages are written for a team member and never hold a key.
"""

from django.utils.translation import gettext_lazy as _


class UpstreamError(Exception):
    """Contactship could not give a usable answer."""

    status = 503
    title = _("Contactship is not answering")
    message = _("The contacts service is unavailable at the moment. Please try again shortly.")
    retryable = True  # worth a "try again" link on the error page

    def __init__(self, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(detail or str(self.message))
        self.detail = detail
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """A 5xx answer, a refused or reset connection."""


class CircuitOpen(UpstreamUnavailable):
    """Recent calls for this organisation failed; calls are refused for a cool-down."""

    message = _(
        "The contacts service failed several times in a row, so the dashboard is giving it a "
        "short rest. Please try again in a little while."
    )


class UpstreamRateLimited(UpstreamUnavailable):
    """429 answers kept coming, or asked for a longer wait than the dashboard allows."""

    title = _("Contactship is busy")
    message = _("The contacts service asked us to slow down. Please try again in a moment.")


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


class UpstreamAuthError(UpstreamError):
    """401: the organisation's key was rejected. Only an administrator can fix that."""

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
