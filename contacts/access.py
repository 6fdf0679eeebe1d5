"""Who may see which organisation: decided here, for every URL under /orgs/<org_id>/."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from contacts.audit import audit
from contacts.models import AuditEvent, Membership
from contacts.upstream.organisations import Organisation, organisation_get, organisation_list


@dataclass(frozen=True, slots=True)
class Access:
    organisation: Organisation
    can_export: bool


def access_for(user, organisation: Organisation) -> Access | None:
    """The user's access to a configured organisation, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Access(organisation, can_export=True)
    membership = Membership.objects.filter(user=user, organisation_id=organisation.id).first()
    if membership is None:
        return None
    return Access(organisation, can_export=membership.can_export)


def accessible_organisations(user) -> list[Access]:
    if user.is_superuser:
        return [Access(o, can_export=True) for o in organisation_list()]
    rights = dict(Membership.objects.filter(user=user).values_list("organisation_id", "can_export"))
    return [Access(o, can_export=rights[o.id]) for o in organisation_list() if o.id in rights]


def organisation_member_required(*, export: bool = False) -> Callable:
    """Let through members of the URL's organisation (with the export right if asked).

    Unknown organisations are 404; non-members get 403, which tells a colleague who followed a
    shared link what to ask for. Sets `request.organisation` and `request.access`.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, org_id: str, *args, **kwargs) -> HttpResponse:
            organisation = organisation_get(org_id)
            if organisation is None:
                raise Http404("No such organisation.")
            access = access_for(request.user, organisation)
            if access is None or (export and not access.can_export):
                audit(AuditEvent.Kind.DENIED, request, organisation_id=org_id)
                raise PermissionDenied(
                    _("You are not a member of this organisation.")
                    if access is None
                    else _("You may not export this organisation's contacts.")
                )
            request.organisation = access.organisation
            request.access = access
            response = view(request, org_id, *args, **kwargs)
            # Every answer under an organisation may carry contacts (a cached summary, a lookup's
            # rows): neither a shared cache nor the browser's back button keeps it.
            patch_cache_control(response, private=True, no_store=True)
            return response

        wrapped.organisation_access_checked = True
        return wrapped

    return decorator
