"""Sign-in with the identity provider: `/accounts/oidc/login/` starts it (a plain link: GET,
with `next`), `/accounts/oidc/callback/` completes it, and `/accounts/logout/` (POST) ends the
dashboard's session and then, for a person who signed in there, the provider's (RP-initiated
logout with `id_token_hint` and `post_logout_redirect_uri`) when it offers an end-session
endpoint.

Whatever goes wrong ends on the login page with a sentence a person can act on, and nobody
signed in: the provider down or slow (503), a tampered, replayed or stale callback (400), an
administrator's identity (403). The log line names the failure's code, never a token or secret.
"""

import logging

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from social_core.actions import do_auth, do_complete
from social_core.exceptions import SocialAuthBaseException
from social_django.utils import load_backend, load_strategy
from social_django.views import _do_login

from contacts.oidc import BACKEND_PATH, AdministratorRefused, provider_unavailable

log = logging.getLogger(__name__)


def _backend(request: HttpRequest):
    if not settings.DASHBOARD_OIDC_ENABLED:
        raise Http404("OpenID Connect sign-in is not configured.")
    strategy = load_strategy(request)
    request.social_strategy = strategy
    backend = load_backend(strategy, "oidc", redirect_uri=reverse("oidc_callback"))
    request.backend = backend
    return backend


def refused(request: HttpRequest, error: Exception) -> HttpResponse:
    """The login page, saying why the sign-in did not happen."""
    if isinstance(error, AdministratorRefused):
        status, message = (
            403,
            _(
                "Administrators sign in with their username and password, not with the identity "
                "provider."
            ),
        )
    elif provider_unavailable(error):
        status, message = (
            503,
            _(
                "The sign-in service is not answering just now, so nobody could be signed in. Try "
                "again in a few minutes; if it goes on, tell whoever runs your organisation's "
                "accounts."
            ),
        )
    else:
        status, message = (
            400,
            _(
                "The sign-in could not be completed (it may have expired, or been used already). "
                "Nobody was signed in. Please start again."
            ),
        )
    code = getattr(error, "code", type(error).__name__)
    log.warning("oidc sign-in failed: %s (%s)", code, type(error).__name__)
    context = {"form": AuthenticationForm(request), "oidc_error": message, "next": ""}
    return render(request, "registration/login.html", context, status=status)


@never_cache
@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    backend = _backend(request)
    try:
        return do_auth(backend, redirect_name="next")
    except (SocialAuthBaseException, OSError) as error:
        return refused(request, error)


@never_cache
@csrf_exempt  # the provider's redirect carries no CSRF token: `state` is its proof
def oidc_callback(request: HttpRequest) -> HttpResponse:
    backend = _backend(request)
    try:
        return do_complete(backend, _do_login, user=None, redirect_name="next", request=request)
    except (SocialAuthBaseException, OSError) as error:
        return refused(request, error)


def _provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send a person signed in with the provider once the dashboard has signed them
    out; None for anyone else, or when the provider has no end-session endpoint."""
    if not settings.DASHBOARD_OIDC_ENABLED or not request.user.is_authenticated:
        return None
    if request.session.get(BACKEND_SESSION_KEY) != BACKEND_PATH:
        return None
    social = request.user.social_auth.filter(provider="oidc").order_by("-modified").first()
    id_token = (social.extra_data or {}).get("id_token", "") if social else ""
    backend = _backend(request)
    return backend.end_session_url(
        id_token if isinstance(id_token, str) else "",
        request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
    )


@never_cache
def logout(request: HttpRequest) -> HttpResponse:
    """Django's logout (POST, CSRF-checked, audited), then the provider's end-session page."""
    provider_url = _provider_logout_url(request) if request.method == "POST" else None
    response = LogoutView.as_view()(request)
    if provider_url and response.status_code in (301, 302, 303):
        return HttpResponseRedirect(provider_url)
    return response
