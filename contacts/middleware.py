"""Request-wide concerns: the request id and the line each request leaves, the compact layout
inside a frame, partitioned cookies for a frame of another site, failed upstream calls as
pages, and the periodic re-check of an OIDC sign-in."""

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookies import Morsel

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.core.signals import request_finished
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from contacts.errors import error_response
from contacts.errors import log_error_shown as log_error_shown  # where the views look for it
from contacts.log import REQUEST_ID, request_id_from
from contacts.oidc import BACKEND_PATH, provider_unavailable, recheck_groups
from contacts.upstream.errors import DashboardError

REQUEST_ID_HEADER = "X-Request-ID"
request_log = logging.getLogger("contacts.request")


@dataclass
class _Served:
    """What the line a request leaves says, gathered while it is served."""

    method: str
    path: str  # without the query string: it holds what people type into the filters
    started: float
    status: int = 0
    user_id: int | None = None
    organisation: str = ""


_SERVED: ContextVar[_Served | None] = ContextVar("served", default=None)


class RequestIdMiddleware:
    """Names each request: the `X-Request-ID` it came with (the proxy's, or a caller's) if it is
    up to 64 letters, digits, `.`, `_` or `-`, else a new id. The id is sent back in the
    answer's `X-Request-ID`, and stays in the context (log lines, calls to Contactship, audit
    events) until the answer is closed: a streamed export makes its calls after the view has
    returned. Then the request leaves one line on `contacts.request`: method, path, status,
    duration, user id and organisation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        REQUEST_ID.set(request_id)
        served = _Served(request.method or "", request.path, time.monotonic())
        _SERVED.set(served)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        served.status = response.status_code
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            served.user_id = user.pk
        match = getattr(request, "resolver_match", None)
        if match is not None:
            served.organisation = str(match.kwargs.get("org_id", ""))
        return response


def _request_finished(sender, **kwargs) -> None:
    """The answer is closed (a streamed one sent to its end, or cut): the request's line, then
    the context forgets the request."""
    served = _SERVED.get()
    if served is not None:
        ms = round((time.monotonic() - served.started) * 1000)
        request_log.info(
            "request %s %s status=%d ms=%d user=%s org=%s",
            served.method,
            served.path,
            served.status,
            ms,
            served.user_id if served.user_id is not None else "-",
            served.organisation or "-",
            extra={
                "method": served.method,
                "path": served.path,
                "status": served.status,
                "duration_ms": ms,
                "user_id": served.user_id,
                "organisation": served.organisation or None,
            },
        )
    _SERVED.set(None)
    REQUEST_ID.set(None)


request_finished.connect(_request_finished, dispatch_uid="contacts.middleware.request_finished")


class UpstreamErrorMiddleware:
    """A `DashboardError` raised by a view becomes a page written for a person, with one log
    line for the operator saying whether Contactship failed or the dashboard refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DashboardError):
            return None
        return error_response(request, exception)


log = logging.getLogger(__name__)
RECHECKED_AT = "dashboard_oidc_checked_at"
# After the provider could not be reached, the re-check is tried again this much later.
RECHECK_RETRY_SECONDS = 60


class OIDCRecheckMiddleware:
    """Every DASHBOARD_OIDC_RECHECK_SECONDS, a person signed in with the identity provider has
    their groups asked for again (refresh token, then userinfo), so that leaving a group loses
    the organisation within that time without signing in again. A refusal signs the person out
    with a page that says why; a provider that cannot be reached leaves the session as it is and
    is asked again a minute later."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None or session.get(BACKEND_SESSION_KEY) != BACKEND_PATH:
            return self.get_response(request)
        now = time.time()
        checked = session.get(RECHECKED_AT)
        if not isinstance(checked, int | float):
            session[RECHECKED_AT] = now  # just signed in: the sign-in was the check
        elif now - checked >= settings.DASHBOARD_OIDC_RECHECK_SECONDS:
            refused = self._recheck(request, now)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _recheck(self, request: HttpRequest, now: float) -> HttpResponse | None:
        try:
            changes = recheck_groups(request, request.user)
        except Exception as error:
            if provider_unavailable(error) or not hasattr(error, "code"):
                log.warning("oidc re-check postponed: %s", getattr(error, "code", "error"))
                retry_at = now - settings.DASHBOARD_OIDC_RECHECK_SECONDS + RECHECK_RETRY_SECONDS
                request.session[RECHECKED_AT] = retry_at
                return None
            log.info("oidc re-check refused (%s): signed out", error.code)
            logout(request)
            message = _(
                "You were signed out: your identity provider no longer confirms your sign-in "
                "(it may have ended, or your access changed). Sign in again to go on."
            )
            return render(request, "registration/login.html", {"oidc_error": message}, status=403)
        request.session[RECHECKED_AT] = now
        if changes:
            log.info("oidc re-check changed memberships: %s", " ".join(changes))
        return None


EMBED_PARAM = "embed"
EMBED_COOKIE = "dashboard_embed"


class EmbeddedMiddleware:
    """Notice when the dashboard is shown inside an iframe, to drop the page chrome.

    Browsers say so in `Sec-Fetch-Dest: iframe` on every navigation inside the frame, so the
    compact layout follows links and the login redirect by itself. `?embed=1` (or `0`) sets it
    explicitly and is remembered in a cookie for the browser session, for browsers that do not
    send the header. A cookie, not the session: an anonymous visitor (the login page in a
    frame) must not create a session row per request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        choice = request.GET.get(EMBED_PARAM)
        if choice not in ("0", "1"):
            choice = request.COOKIES.get(EMBED_COOKIE)
        framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
        request.embedded = choice == "1" if choice in ("0", "1") else framed
        response = self.get_response(request)
        if EMBED_PARAM in request.GET and choice in ("0", "1"):
            # Sent wherever the session cookie is (SameSite=None inside another site's frame).
            response.set_cookie(
                EMBED_COOKIE,
                choice,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        patch_vary_headers(response, ["Sec-Fetch-Dest"])
        return response


def embedded(request: HttpRequest) -> dict[str, bool]:
    """Template context: `embedded` is true inside the intranet's frame."""
    return {"embedded": getattr(request, "embedded", False)}


class _PartitionedMorsel(Morsel):
    """A cookie sent with the `Partitioned` attribute (CHIPS), which Python's Morsel lacks
    before 3.14."""

    def OutputString(self, attrs=None) -> str:
        return super().OutputString(attrs) + "; Partitioned"


class PartitionedCookieMiddleware:
    """Marks the session, CSRF and language cookies `Partitioned` (installed by the settings
    when a listed frame ancestor is on another site).

    Chromium-based browsers keep partitioned cookies of a cross-site frame even when they block
    third-party cookies, each in a jar for the top-level site. Deleting one (log out) must carry
    the attribute too, or the browser would not find it: every Set-Cookie of these names does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        names = (
            settings.SESSION_COOKIE_NAME,
            settings.CSRF_COOKIE_NAME,
            settings.LANGUAGE_COOKIE_NAME,
        )
        for name in names:
            morsel = response.cookies.get(name)
            if morsel is None:
                continue
            if "partitioned" in Morsel._reserved:  # Python 3.14 and later
                morsel["partitioned"] = True
            else:
                morsel.__class__ = _PartitionedMorsel
        return response


class DesignedNotFoundMiddleware:
    """Under `make run` (DEBUG with DASHBOARD_DESIGNED_ERRORS=1): a 404 shows the designed page
    people meet in production, not Django's debug page: a view's (an unknown organisation or
    contact) and a URL that matches no pattern (`/nope/`). Django raises the latter while it
    resolves the URL, before any view and so outside `process_exception`: it is resolved here
    first. A 404 answer still reaches CommonMiddleware, which adds a missing slash."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            # Django logs the 404 answer itself (django.request): one line.
            return render(request, "404.html", status=404)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Http404):
            return None
        # Django logs the 404 answer itself (django.request): one line.
        return render(request, "404.html", status=404)
