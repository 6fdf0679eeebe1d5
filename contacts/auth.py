"""Intranet sign-in: trust the reverse proxy's user header (DASHBOARD_REMOTE_USER_HEADER).

Believed only on requests from DASHBOARD_TRUSTED_PROXIES (anyone else could type the header), and
never for staff or superusers: a header cannot grant the admin. The proxy must still set the
header itself and strip any copy a client sends; see README (Intranet sign-in).
"""

from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.middleware import RemoteUserMiddleware

from contacts.proxy import from_trusted_proxy


class IntranetRemoteUserMiddleware(RemoteUserMiddleware):
    @property
    def header(self) -> str:
        # Django sees an HTTP header "X-Forwarded-User" as META["HTTP_X_FORWARDED_USER"].
        name = settings.DASHBOARD_REMOTE_USER_HEADER.upper().replace("-", "_")
        return f"HTTP_{name}"

    def get_username(self, request) -> str:
        if not from_trusted_proxy(request):
            # As if the header were absent: a client talking to us directly chose it.
            raise KeyError(self.header)
        return super().get_username(request)


class IntranetRemoteUserBackend(RemoteUserBackend):
    """Creates an unknown intranet user on first sight, with no memberships: seeing contacts
    still takes an administrator's `add_member`."""

    create_unknown_user = True

    def user_can_authenticate(self, user) -> bool:
        # Administrators sign in with their password (throttled, audited), never by a header.
        if user.is_staff or user.is_superuser:
            return False
        return super().user_can_authenticate(user)

    def configure_user(self, request, user, created=True):
        if created:
            # Signed in by the intranet only: no password that could be guessed here.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user
