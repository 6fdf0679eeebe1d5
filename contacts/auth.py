"""Intranet sign-in: trust the reverse proxy's user header (DASHBOARD_REMOTE_USER_HEADER).

Only safe when the proxy in front of the dashboard sets the header itself and strips any copy a
client sends; see README (Intranet sign-in).
"""

from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.middleware import RemoteUserMiddleware


class IntranetRemoteUserMiddleware(RemoteUserMiddleware):
    @property
    def header(self) -> str:
        # Django sees an HTTP header "X-Forwarded-User" as META["HTTP_X_FORWARDED_USER"].
        name = settings.DASHBOARD_REMOTE_USER_HEADER.upper().replace("-", "_")
        return f"HTTP_{name}"


class IntranetRemoteUserBackend(RemoteUserBackend):
    """Creates an unknown intranet user on first sight, with no memberships: seeing contacts
    still takes an administrator's `add_member`."""

    create_unknown_user = True

    def configure_user(self, request, user, created=True):
        if created:
            # Signed in by the intranet only: no password that could be guessed here.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user
