"""Intranet sign-in: trust the reverse proxy's user header (DASHBOARD_REMOTE_USER_HEADER).

Believed only on requests from DASHBOARD_TRUSTED_PROXIES (anyone else could type the header), and
never for staff or superusers: a header cannot grant the admin. The proxy must still set the
header itself and strip any copy a client sends; see docs/admins/sign-in.md.

With DASHBOARD_REMOTE_GROUPS_HEADER the proxy also names the person's groups (comma-separated,
e.g. oauth2-proxy's X-Forwarded-Groups), believed on the same terms: the memberships from groups
then follow DASHBOARD_GROUP_MEMBERSHIPS as with OIDC, at sign-in and whenever the header's groups
change during the session.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.middleware import RemoteUserMiddleware

from contacts.audit import SIGN_IN_NOTE
from contacts.memberships import sync_group_memberships
from contacts.proxy import from_trusted_proxy

BACKEND_PATH = "contacts.auth.IntranetRemoteUserBackend"
# The session remembers the groups last applied, so that a page costs no write when they stay.
GROUPS_SESSION_KEY = "dashboard_header_groups"


def header_groups(request) -> list[str] | None:
    """The groups the trusted proxy names, or None (no groups header configured or sent, or a
    request that did not come through a trusted proxy)."""
    name = settings.DASHBOARD_REMOTE_GROUPS_HEADER
    if not name or not from_trusted_proxy(request):
        return None
    value = request.META.get(f"HTTP_{name.upper().replace('-', '_')}")
    if value is None:
        return None
    return sorted({group.strip() for group in value.split(",") if group.strip()})


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

    def process_request(self, request):
        super().process_request(request)
        self._follow_groups(request)

    def _follow_groups(self, request) -> None:
        groups = header_groups(request)
        if groups is None or not request.user.is_authenticated:
            return
        if request.session.get(BACKEND_SESSION_KEY) != BACKEND_PATH:
            return  # signed in some other way: the header's groups are not theirs to apply
        if request.session.get(GROUPS_SESSION_KEY) != groups:
            sync_group_memberships(request.user, groups)
            request.session[GROUPS_SESSION_KEY] = groups


class IntranetRemoteUserBackend(RemoteUserBackend):
    """Creates an unknown intranet user on first sight, with no memberships: seeing contacts
    still takes an administrator's `add_member`."""

    create_unknown_user = True

    def authenticate(self, request, remote_user):
        user = super().authenticate(request, remote_user)
        groups = header_groups(request) if request is not None else None
        if user is not None and groups is not None:
            # Before the login, so that its audit event lists the changes.
            changes = sync_group_memberships(user, groups)
            setattr(request, SIGN_IN_NOTE, {"method": "header", "changes": changes})
        return user

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
