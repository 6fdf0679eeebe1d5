"""Sign-in with the identity provider: `/accounts/oidc/login/` starts it (a plain link: GET,
with `next`), `/accounts/oidc/callback/` completes it, and `/accounts/logout/` (POST) ends the
dashboard's session and then, for a person who signed in there, the provider's (RP-initiated
logout with `id_token_hint` and `post_logout_redirect_uri`) when it offers an end-session
endpoint.

Whatever goes wrong ends on the login page with a sentence a person can act on, and nobody
signed in: the provider down or slow (200: the login page is fine), a tampered, replayed or
stale callback (400), an administrator's identity (403). The log line names the failure's
code, never a token or secret.
"""

import logging
import secrets

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from social_core.actions import do_auth, do_complete
from social_core.exceptions import SocialAuthBaseException
from social_django.utils import load_backend, load_strategy
from social_django.views import _do_login

from contacts import metrics
from contacts.audit import audit
from contacts.models import AuditEvent
from contacts.oidc import BACKEND_PATH, AdministratorRefused, oidc_enabled, provider_unavailable

log = logging.getLogger(__name__)


def _backend(request: HttpRequest):
    if not oidc_enabled():
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
        # The login page itself is fine, with its password form: a page, not a server error.
        status, message = (
            200,
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
    code = str(getattr(error, "code", type(error).__name__))
    log.warning("oidc sign-in failed: %s (%s)", code, type(error).__name__)
    audit(AuditEvent.Kind.LOGIN_FAILED, request, method="oidc", error=code[:200])
    metrics.count_sign_in("oidc", "failure")
    context = {"form": AuthenticationForm(request), "oidc_error": message, "next": ""}
    return render(request, "registration/login.html", context, status=status)


# The pop-up window and the frame that opened it must stay in touch across the provider's pages.
OPENER_POLICY = ("Cross-Origin-Opener-Policy", "unsafe-none")
HANDOFF_KEY = "dashboard:oidc-handoff:v1:{token}"
HANDOFF_SECONDS = 60


@never_cache
@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    backend = _backend(request)
    try:
        response = do_auth(backend, redirect_name="next")
    except (SocialAuthBaseException, OSError) as error:
        return refused(request, error)
    response[OPENER_POLICY[0]] = OPENER_POLICY[1]
    return response


@never_cache
@login_required
def oidc_popup_done(request: HttpRequest) -> HttpResponse:
    """The end of a sign-in in a pop-up window: a one-time token for the frame that opened it."""
    token = secrets.token_urlsafe(32)
    cache.set(HANDOFF_KEY.format(token=token), request.user.pk, HANDOFF_SECONDS)
    response = render(request, "registration/oidc_popup_done.html", {"handoff": token})
    response[OPENER_POLICY[0]] = OPENER_POLICY[1]
    return response


def _same_origin(request: HttpRequest) -> bool:
    """The request was sent by a page of the dashboard itself (as browsers say)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    own = f"{request.scheme}://{request.get_host()}"
    return site in (None, "same-origin") and origin in (None, own)


@never_cache
@csrf_exempt  # the window's sign-in rotated the CSRF cookie the frame's form was made with
@require_POST
def oidc_handoff(request: HttpRequest) -> HttpResponse:
    """The frame's side of a pop-up sign-in: the token, once, within a minute, signs it in.

    Not CSRF-checked (signing in in the window renews the CSRF cookie that a same-site frame
    shares), but only from the dashboard's own pages: another site cannot post someone else's
    token to sign a visitor in as that someone."""
    if not _same_origin(request):
        return refused(request, ValueError("handoff from another origin"))
    key = HANDOFF_KEY.format(token=request.POST.get("token", "")[:100])
    user_id = cache.get(key)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or not cache.delete(key) or user.is_staff or user.is_superuser:
        return refused(request, ValueError("handoff"))
    login(request, user, backend=BACKEND_PATH)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse(settings.LOGIN_REDIRECT_URL)
    return HttpResponseRedirect(next_url)


@never_cache
@csrf_exempt  # the provider's redirect carries no CSRF token: `state` is its proof
def oidc_callback(request: HttpRequest) -> HttpResponse:
    backend = _backend(request)
    try:
        response = do_complete(backend, _do_login, user=None, redirect_name="next", request=request)
    except (SocialAuthBaseException, OSError) as error:
        return refused(request, error)
    response[OPENER_POLICY[0]] = OPENER_POLICY[1]
    return response


def _provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send a person signed in with the provider once the dashboard has signed them
    out; None for anyone else, or when the provider has no end-session endpoint."""
    if not oidc_enabled() or not request.user.is_authenticated:
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
