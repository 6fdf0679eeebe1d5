"""Saved views: a search kept under a name, private to its owner or shared with the organisation.

Visibility is checked on every use, not only when views are listed: a view is found by its slug
only among those the person may see (the organisation's shared ones and their own), so a private
view's slug is a 404 to anyone else, as a URL and as the `view=` parameter of a search, a
summary or a download; and the organisation's own access check runs first, so a person removed
from the organisation loses every view of it. A view never grants anything: the export right is
checked as for any download.

A view's search is validated as the search page validates one: unknown parameters are dropped,
an invalid filter or an unknown column is refused with the search page's words. The list a
search page shows is kept in the cache per organisation (forgotten on every change), so that a
page costs no query for it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache as django_cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from django.http import Http404, HttpRequest, QueryDict
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from contacts.access import accessible_organisations
from contacts.cache import TolerantCache
from contacts.models import SavedView
from contacts.search.columns import remembered_columns
from contacts.search.contact_search import ContactSearch
from contacts.search.params import VIEW_PARAM
from contacts.upstream.organisations import Organisation

MAX_PRIVATE = 50  # per person and organisation
MAX_SHARED = 100  # per organisation
VIEWS_KEY = "dashboard:views:v1:{org_id}"
SLUG_LENGTH, SLUG_CHARACTERS = 10, "abcdefghijkmnpqrstuvwxyz23456789"
cache = TolerantCache(django_cache)


@dataclass(frozen=True, slots=True)
class ViewEntry:
    """What a list of views shows of one."""

    slug: str
    name: str
    shared: bool
    owner_id: int | None
    owner: str | None  # the owner's username; None once the account is gone
    query: str


def organisation_views(org_id: str) -> list[ViewEntry]:
    """Every view of the organisation, shared or private (filter with `visible_to`)."""
    key = VIEWS_KEY.format(org_id=org_id)
    entries = cache.get(key)
    if entries is None:
        entries = _entries_from_database(org_id)
        cache.set(key, entries, settings.DASHBOARD_ACCESS_CACHE_SECONDS)
    return entries


def _entries_from_database(org_id: str) -> list[ViewEntry]:
    rows = SavedView.objects.filter(organisation_id=org_id).values_list(
        "slug", "name", "shared", "owner_id", "owner__username", "query"
    )
    return [ViewEntry(*row) for row in rows]


def visible_to(user, org_id: str) -> list[ViewEntry]:
    """The organisation's shared views, then the person's own, each by name."""
    entries = organisation_views(org_id)
    shared = [e for e in entries if e.shared]
    own = [e for e in entries if not e.shared and e.owner_id == user.pk]
    return sorted(shared, key=_by_name) + sorted(own, key=_by_name)


def _by_name(entry: ViewEntry) -> str:
    return entry.name.casefold()


def visible_view(user, org_id: str, slug: str) -> SavedView:
    """The view `slug` of the organisation, if `user` may see it; else 404, whether it exists or
    not."""
    try:
        return SavedView.objects.get(
            Q(shared=True) | Q(owner_id=user.pk), organisation_id=org_id, slug=slug
        )
    except SavedView.DoesNotExist:
        raise Http404("No such view.") from None


def may_change(user, owner_id: int | None) -> bool:
    """A view (of owner `owner_id`) is renamed, changed or deleted by its owner or staff."""
    return user.is_staff or (owner_id is not None and owner_id == user.pk)


def request_search(request: HttpRequest, *, remember: bool = False) -> ContactSearch:
    """The request's search, with the saved view it names (404 if the person may not see it)
    and, with `remember`, the member's remembered columns when the address names none."""
    slug = request.GET.get(VIEW_PARAM, "")
    view = visible_view(request.user, request.organisation.id, slug) if slug else None
    remembered = None
    if remember:
        stored = request.access.remembered_columns
        remembered = lambda: remembered_columns(stored)  # noqa: E731
    search = ContactSearch(
        request.GET,
        organisation=request.organisation,
        path=request.path,
        remembered=remembered,
        view=view.slug if view else "",
    )
    search.saved_view = view
    return search


def clean_query(organisation: Organisation, text: str) -> str:
    """The search in `text` (a query string) as a view keeps it: validated as the search page
    validates it, unknown parameters dropped, in the order every link uses."""
    search = ContactSearch(QueryDict(text), organisation=organisation, path="")
    if search.columns_error is not None:
        raise ValidationError(
            _("Some columns are not known: %(names)s.")
            % {"names": ", ".join(search.columns_error.invalid) or str(search.columns_error)}
        )
    if not search.valid:
        errors = search.filterset.form.errors
        words = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        raise ValidationError(_("This search is not valid: %(errors)s") % {"errors": words})
    return search.search_query


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Give the view a name."))
    if len(name) > 100:
        raise ValidationError(_("A view's name has at most 100 characters."))
    return name


def save_view(
    *, user, organisation: Organisation, name: str, query: str, shared: bool
) -> SavedView:
    """A new view, or ValidationError with a message for the form."""
    name = clean_name(name)
    query = clean_query(organisation, query)
    views = SavedView.objects.filter(organisation_id=organisation.id)
    if shared and views.filter(shared=True).count() >= MAX_SHARED:
        raise ValidationError(
            _("This organisation has %(n)d shared views, the most it may have: delete one first.")
            % {"n": MAX_SHARED}
        )
    if not shared and views.filter(shared=False, owner=user).count() >= MAX_PRIVATE:
        raise ValidationError(
            _("You have %(n)d views of your own here, the most you may have: delete one first.")
            % {"n": MAX_PRIVATE}
        )
    _check_name_free(views, name, shared=shared, owner=user)
    view = SavedView(
        organisation_id=organisation.id, name=name, owner=user, shared=shared, query=query
    )
    # A slug of its own, not made of the name: addresses reach the logs, and a view's name may
    # say what its search is for ("Luciana Carvalho's customers").
    for _attempt in range(5):
        view.slug = get_random_string(SLUG_LENGTH, SLUG_CHARACTERS)
        try:
            with transaction.atomic():
                view.save()
            return view
        except IntegrityError:
            # The slug was taken, or the same name saved at the same moment.
            _check_name_free(views, name, shared=shared, owner=user)
    raise ValidationError(_("The view could not be saved; please try again."))


def change_view(
    view: SavedView,
    *,
    name: str | None = None,
    query: str | None = None,
    organisation: Organisation,
) -> SavedView:
    """Rename the view, or give it the search in `query`."""
    if name is not None:
        name = clean_name(name)
        others = SavedView.objects.filter(organisation_id=view.organisation_id).exclude(pk=view.pk)
        _check_name_free(others, name, shared=view.shared, owner=view.owner)
        view.name = name
    if query is not None:
        view.query = clean_query(organisation, query)
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        raise ValidationError(_("Another view already has this name.")) from None
    return view


def _check_name_free(views, name: str, *, shared: bool, owner) -> None:
    same = views.filter(name=name, shared=shared)
    if not shared:
        same = same.filter(owner=owner)
    if same.exists():
        raise ValidationError(
            _("A shared view of this organisation already has this name.")
            if shared
            else _("One of your views already has this name.")
        )


def forget_views(org_id: str) -> None:
    cache.delete(VIEWS_KEY.format(org_id=org_id))


@receiver([post_save, post_delete], sender=SavedView)
def _views_changed(sender, instance: SavedView, **kwargs) -> None:
    forget_views(instance.organisation_id)


@receiver(user_logged_in)
def _views_at_sign_in(sender, request, user, **kwargs) -> None:
    # Read now, so that the first search page after signing in finds the lists in the cache.
    for access in accessible_organisations(user):
        organisation_views(access.organisation.id)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def _owner_deleted(sender, instance, **kwargs) -> None:
    """A deleted account's private views go with it; its shared views stay, ownerless (the
    foreign key's SET_NULL, which sends no signal: the lists are forgotten here)."""
    SavedView.objects.filter(owner=instance, shared=False).delete()
    shared = SavedView.objects.filter(owner=instance).values_list("organisation_id", flat=True)
    for org_id in set(shared):
        forget_views(org_id)
