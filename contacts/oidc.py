"""Sign-in with the intranet's OpenID Connect provider (DASHBOARD_OIDC_ISSUER).

The flow is social-core's OpenID Connect backend: discovery, authorization code with PKCE (S256),
`state` and `nonce`, the ID token's signature, issuer, audience and expiry. This module adds what
the dashboard decides:

- a person is their issuer and `sub` (the social account's uid is both), never a username or an
  email that could be reused; an existing password account is never linked by its email (an
  administrator links it: `manage.py link_identity`);
- name and email are refreshed at each sign-in;
- OIDC never signs in staff or superusers, and never makes anyone either: administrators keep
  their throttled password login;
- the memberships from groups follow the groups claim (contacts.memberships).

Every call to the provider is bounded (SOCIAL_AUTH_REQUESTS_TIMEOUT, in dashboard.settings.oidc).
"""

import logging
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from social_core.backends.open_id_connect import OpenIdConnectAuth
from social_core.backends.utils import load_oidc_config
from social_core.exceptions import (
    AuthCredentialError,
    AuthPolicyError,
    AuthProviderError,
    AuthResponseError,
    SocialAuthBaseException,
)
from social_django.utils import load_strategy

from contacts.audit import SIGN_IN_NOTE
from contacts.memberships import sync_group_memberships

log = logging.getLogger(__name__)
BACKEND_PATH = "contacts.oidc.DashboardOIDC"


class AdministratorRefused(AuthPolicyError):
    """A staff or superuser account's identity: administrators sign in with their password."""


def oidc_enabled() -> bool:
    """Whether sign-in with an identity provider is configured (DASHBOARD_OIDC_ISSUER)."""
    return bool(settings.DASHBOARD_OIDC_ISSUER)


def issuer() -> str:
    return str(settings.DASHBOARD_OIDC_ISSUER).rstrip("/")


def client_secret() -> str:
    """DASHBOARD_OIDC_CLIENT_SECRET_FILE's content (read each time: a rotated secret applies at
    once), else DASHBOARD_OIDC_CLIENT_SECRET; "" for a public client or an unreadable file
    (which `manage.py check` reports, naming the file, never its content)."""
    path = settings.DASHBOARD_OIDC_CLIENT_SECRET_FILE
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            return ""
    return settings.DASHBOARD_OIDC_CLIENT_SECRET


def _scopes() -> list[str]:
    scopes = settings.DASHBOARD_OIDC_SCOPES
    return scopes.split() if isinstance(scopes, str) else list(scopes)


# What social-core asks the backend for (its SOCIAL_AUTH_OIDC_* names), from the DASHBOARD_
# settings, read at each use.
LIVE_SETTINGS = {
    "OIDC_ENDPOINT": issuer,
    "KEY": lambda: settings.DASHBOARD_OIDC_CLIENT_ID,
    "SECRET": client_secret,
    "SCOPE": _scopes,
    "GROUPS_KEY": lambda: settings.DASHBOARD_GROUPS_CLAIM,
}


def identity_uid(issuer: str, sub: str) -> str:
    """The stored identity of a person: their provider's issuer and their subject there."""
    return f"{issuer.rstrip('/')} {sub}"


# All the calls one request makes to the provider (discovery, keys, token, userinfo) end within
# this many seconds together, so that a slow provider still leaves time to answer the person
# within 5 s; each call also has its own connect and read timeouts (SOCIAL_AUTH_REQUESTS_TIMEOUT).
PROVIDER_BUDGET_SECONDS = 4.0


class DashboardOIDC(OpenIdConnectAuth):
    name = "oidc"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = time.monotonic() + PROVIDER_BUDGET_SECONDS

    def setting(self, name, default=None):
        live = LIVE_SETTINGS.get(name)
        return live() if live is not None else super().setting(name, default)

    def request(self, url, *args, timeout=None, stage="user_info", **kwargs):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0.05:
            raise AuthProviderError(self, code="timeout", stage=stage)
        connect, read = settings.SOCIAL_AUTH_REQUESTS_TIMEOUT
        bounded = (min(connect, remaining), min(read, remaining))
        return super().request(url, *args, timeout=bounded, stage=stage, **kwargs)

    def oidc_config(self) -> dict:
        # Read once per request, never kept longer: a provider that went away is noticed at the
        # next sign-in (with a message), instead of sending people to a dead address for a day.
        config = getattr(self, "_discovered", None)
        if config is None:
            config = self._discovered = load_oidc_config(self, self.oidc_config_url())
        return config

    def get_user_id(self, details, response):
        sub = super().get_user_id(details, response)
        iss = (self.id_token or {}).get("iss") or issuer()
        return identity_uid(str(iss), str(sub))

    def get_user_details(self, response):
        details = super().get_user_details(response)
        if not details.get("username"):
            # A starting point for the (unique, made-up) username only: never the identity.
            details["username"] = (details.get("email") or "").split("@")[0]
        return details

    def groups(self, response) -> list[str]:
        return list(self.get_user_groups(response) or [])

    def end_session_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """The provider's end-session address for RP-initiated logout, or None when it offers
        none (or cannot be asked: the dashboard's own logout has happened anyway)."""
        try:
            endpoint = self.oidc_config().get("end_session_endpoint")
        except (SocialAuthBaseException, OSError) as error:
            log.warning("oidc end-session endpoint unknown: %s", getattr(error, "code", error))
            return None
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        params = {
            "client_id": settings.DASHBOARD_OIDC_CLIENT_ID,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if id_token:
            params["id_token_hint"] = id_token
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"


def provider_unavailable(error: Exception) -> bool:
    """The provider did not answer, or answered with a server error (not a refusal)."""
    if isinstance(error, OSError | AuthProviderError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, SocialAuthBaseException) and bool(status) and status >= 500


# --- The sign-in pipeline's own steps (SOCIAL_AUTH_PIPELINE) ----------------------------------


def refuse_administrators(backend, user=None, *args, **kwargs) -> None:
    if user is not None and (user.is_staff or user.is_superuser):
        log.info("oidc sign-in refused: an administrator's identity")
        raise AdministratorRefused(backend)


def create_user(backend, details, user=None, username=None, *args, **kwargs) -> dict | None:
    """A new person: a user with no password and no rights but those of their groups."""
    if user is not None:
        return None
    new = get_user_model()(
        username=username,
        email=details.get("email") or "",
        first_name=(details.get("first_name") or "")[:150],
        last_name=(details.get("last_name") or "")[:150],
    )
    new.set_unusable_password()
    new.save()
    return {"is_new": True, "user": new}


def _names(details) -> tuple[str, str]:
    first, last = details.get("first_name") or "", details.get("last_name") or ""
    if not (first or last) and details.get("fullname"):
        first, _, last = str(details["fullname"]).partition(" ")
    return str(first)[:150], str(last)[:150]


def refresh_details(user, details, *args, **kwargs) -> None:
    """Name and email as the provider says now."""
    first, last = _names(details)
    email = str(details.get("email") or "")[:254]
    if (user.first_name, user.last_name, user.email) != (first, last, email):
        user.first_name, user.last_name, user.email = first, last, email
        user.save(update_fields=["first_name", "last_name", "email"])


def memberships_from_groups(strategy, backend, user, response, *args, **kwargs) -> None:
    changes = sync_group_memberships(user, backend.groups(response))
    setattr(strategy.request, SIGN_IN_NOTE, {"method": "oidc", "changes": changes})


# --- The periodic re-check (DASHBOARD_OIDC_RECHECK_SECONDS, contacts.middleware) --------------


def recheck_groups(request, user) -> list[str]:
    """Ask the provider again for the person's groups and make the memberships from groups
    match; the changes made. With a refresh token, the token is refreshed (its new ID token is
    validated, and its groups win); then userinfo, with the newest access token.

    Raises SocialAuthBaseException when the provider refuses (the refresh token or the access
    token is no longer good, or the person is not the same), and it or an OSError when the
    provider cannot be reached: `provider_unavailable` tells which."""
    social = user.social_auth.filter(provider="oidc").order_by("-modified").first()
    if social is None:
        raise AuthCredentialError(None, code="reauthentication_required", stage="refresh")
    backend = social.get_backend_instance(load_strategy(request))
    extra = social.extra_data or {}
    sub = social.uid.rpartition(" ")[2]
    access_token = extra.get("access_token")
    refresh_token = backend.get_refresh_token(extra)
    if refresh_token:
        response = backend.refresh_token(refresh_token)
        if social.set_extra_data(backend.extra_data(user, social.uid, response, extra, {})):
            social.save()
        access_token = response.get("access_token") or access_token
    if not access_token:
        raise AuthCredentialError(backend, code="reauthentication_required", stage="refresh")
    if backend.id_token is None:
        backend.id_token = {"sub": sub}  # what userinfo's `sub` must match
    elif backend.id_token.get("sub") != sub:
        raise AuthResponseError(backend, code="invalid_claim", claim="sub", stage="refresh")
    userinfo = backend.user_data(access_token) or {}
    return sync_group_memberships(user, backend.groups(userinfo))
