"""Who may see which organisation: decided here, for every URL under /orgs/<org_id>/.

A member's rights (the organisations, the export right, and the columns they chose for each) are
read from the database once and kept in the cache, so that a page costs no query for them: with
`REDIS_URL` the copy is shared by every replica; without it each process keeps its own. Any change
to a membership or a column choice (the admin, `add_member`, `remove_member`, the picker) deletes
the copy, and it lives at most DASHBOARD_ACCESS_CACHE_SECONDS in any case: without Redis, a change
made by another process (a command) counts after that long at most.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache as django_cache
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from contacts.audit import audit
from contacts.cache import TolerantCache
from contacts.models import AuditEvent, ColumnChoice, Membership
from contacts.upstream.organisations import Organisation, organisation_get, organisation_list

RIGHTS_KEY = "dashboard:rights:v1:{user_id}"
# A cache that is down answers as a miss: the database decides.
cache = TolerantCache(django_cache)


@dataclass(frozen=True, slots=True)
class Access:
    organisation: Organisation
    can_export: bool
    # The `columns=` text the member last chose with the picker here; "" for none.
    remembered_columns: str = ""


@dataclass(frozen=True, slots=True)
class Rights:
    """A user's memberships (organisation id -> export right) and column choices."""

    exports: dict[str, bool] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)


def user_rights(user) -> Rights:
    """The user's rights, from the cache or (one query, two for a superuser) the database."""
    key = RIGHTS_KEY.format(user_id=user.pk)
    rights = cache.get(key)
    if not isinstance(rights, Rights):
        rights = _rights_from_database(user)
        cache.set(key, rights, settings.DASHBOARD_ACCESS_CACHE_SECONDS)
    return rights


def _rights_from_database(user) -> Rights:
    choice = ColumnChoice.objects.filter(
        user_id=OuterRef("user_id"), organisation_id=OuterRef("organisation_id")
    ).values("columns")[:1]
    rows = (
        Membership.objects.filter(user=user)
        .annotate(remembered=Subquery(choice))
        .values_list("organisation_id", "can_export", "remembered")
    )
    exports, columns = {}, {}
    for org_id, can_export, remembered in rows:
        exports[org_id] = can_export
        if remembered:
            columns[org_id] = remembered
    if user.is_superuser:  # sees every organisation, member or not
        columns = dict(
            ColumnChoice.objects.filter(user=user).values_list("organisation_id", "columns")
        )
    return Rights(exports, columns)


def forget_rights(user_id: int) -> None:
    cache.delete(RIGHTS_KEY.format(user_id=user_id))


@receiver([post_save, post_delete], sender=Membership)
@receiver([post_save, post_delete], sender=ColumnChoice)
def _rights_changed(sender, instance, **kwargs) -> None:
    forget_rights(instance.user_id)


@receiver(user_logged_in)
def _rights_at_sign_in(sender, request, user, **kwargs) -> None:
    # Read afresh, so that the first page after signing in finds them in the cache.
    forget_rights(user.pk)
    user_rights(user)


def access_for(user, organisation: Organisation) -> Access | None:
    """The user's access to a configured organisation, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    rights = user_rights(user)
    remembered = rights.columns.get(organisation.id, "")
    if user.is_superuser:
        return Access(organisation, can_export=True, remembered_columns=remembered)
    if organisation.id not in rights.exports:
        return None
    return Access(organisation, rights.exports[organisation.id], remembered)


def accessible_organisations(user) -> list[Access]:
    if user.is_superuser:
        return [Access(o, can_export=True) for o in organisation_list()]
    exports = user_rights(user).exports
    return [Access(o, can_export=exports[o.id]) for o in organisation_list() if o.id in exports]


def organisation_member_required(*, export: bool = False, conceal: bool = False) -> Callable:
    """Let through members of the URL's organisation (with the export right if asked).

    Unknown organisations are 404; non-members get 403, which tells a colleague who followed a
    shared link what to ask for, or 404 with `conceal` (for what another organisation must not
    learn exists, such as its saved views). Sets `request.organisation` and `request.access`.
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
                if conceal and access is None:
                    raise Http404("No such page.")
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
