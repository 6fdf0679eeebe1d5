"""Audit events for sign-ins, sign-outs and refusals (exports record theirs in `services`)."""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from contacts import metrics
from contacts.models import AuditEvent
from contacts.proxy import client_address

log = logging.getLogger(__name__)
Kind = AuditEvent.Kind


def audit(
    kind: str, request: HttpRequest | None, *, user=None, username: str = "", **fields
) -> None:
    """Record one event; a failure to record is logged, never shown to the user."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    try:
        AuditEvent.objects.create(
            kind=kind,
            user=user,
            username=(username or (user.get_username() if user else ""))[:150],
            source="web",
            path=request.path[:300] if request is not None else "",
            ip_address=client_address(request) if request is not None else None,
            **fields,
        )
    except Exception:
        log.exception("audit event %s not written", kind)


# The authentication backend that signed a person in → the sign-in's method (audit, metrics).
SIGN_IN_METHODS = {
    "contacts.oidc.DashboardOIDC": "oidc",
    "contacts.auth.IntranetRemoteUserBackend": "header",
}
# Set on the request by a sign-in that changed memberships: {"method": ..., "changes": [...]}.
SIGN_IN_NOTE = "dashboard_sign_in"


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    note = getattr(request, SIGN_IN_NOTE, None) or {}
    method = note.get("method") or SIGN_IN_METHODS.get(getattr(user, "backend", ""), "password")
    audit(Kind.LOGIN, request, user=user, method=method, changes=note.get("changes", []))
    metrics.count_sign_in(method, "success")


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    audit(Kind.LOGOUT, request, user=user, username="" if user else "(expired session)")


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in `credentials`; only the name is kept.
    audit(Kind.LOGIN_FAILED, request, username=str(credentials.get("username", "")))
    metrics.count_sign_in("header" if "remote_user" in credentials else "password", "failure")


def _locked_out(sender, request, username=None, ip_address=None, **kwargs) -> None:
    audit(Kind.LOCKED_OUT, request, username=username or "")
    metrics.count_sign_in("password", "locked_out")


try:
    from axes.signals import user_locked_out
except ImportError:  # pragma: no cover - axes is a dependency; this keeps the module importable
    pass
else:
    user_locked_out.connect(_locked_out, dispatch_uid="contacts.audit.locked_out")
