"""Saved views: the list (and saving one), its JSON, opening, changing and deleting one.

Every URL here answers 404 to anyone who may not see the view, a member of another organisation
included, so that a view's name or slug says nothing to them (`contacts.saved`).
"""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts.access import organisation_member_required
from contacts.saved import (
    change_view,
    may_change,
    save_view,
    visible_to,
    visible_view,
)
from contacts.search.params import VIEW_PARAM


def view_url(org_id: str, slug: str) -> str:
    return reverse("saved_view", args=[org_id, slug])


def opened_url(org_id: str, slug: str, query: str) -> str:
    """The search page showing the view: its search, and which view it is."""
    search = reverse("contact_list", args=[org_id])
    view = urlencode({VIEW_PARAM: slug})
    return f"{search}?{query}&{view}" if query else f"{search}?{view}"


@organisation_member_required(conceal=True)
def view_list(request: HttpRequest, org_id: str) -> HttpResponse:
    """The person's views and the organisation's shared ones; a POST saves a new one (`name`,
    `query`, `shared`) and opens it."""
    errors: list[str] = []
    if request.method == "POST":
        try:
            view = save_view(
                user=request.user,
                organisation=request.organisation,
                name=request.POST.get("name", ""),
                query=request.POST.get("query", ""),
                shared=request.POST.get("shared") == "1",
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            # To the view's own address, which opens it: the address a bookmark keeps.
            return HttpResponseRedirect(view_url(org_id, view.slug), status=303)
    return _list_page(request, org_id, errors, posted=request.POST if errors else None)


@organisation_member_required(conceal=True)
def view_list_json(request: HttpRequest, org_id: str) -> HttpResponse:
    views = [
        {
            "name": entry.name,
            "slug": entry.slug,
            "shared": entry.shared,
            "owner": entry.owner,
            "query": entry.query,
            "url": view_url(org_id, entry.slug),
        }
        for entry in visible_to(request.user, org_id)
    ]
    return JsonResponse(views, safe=False)


@organisation_member_required(conceal=True)
def saved_view(request: HttpRequest, org_id: str, slug: str) -> HttpResponse:
    """GET opens the view; POST (its owner or staff) renames it (`name`) or gives it the search
    in `query` ("Update view"), then opens it."""
    view = visible_view(request.user, org_id, slug)
    if request.method == "POST":
        if not may_change(request.user, view.owner_id):
            raise PermissionDenied("Only the view's owner or an administrator may change it.")
        name = request.POST.get("name")
        query = request.POST.get("query")
        try:
            change_view(view, name=name, query=query, organisation=request.organisation)
        except ValidationError as exc:
            return _list_page(request, org_id, exc.messages)
        if name is not None and query is None:
            return HttpResponseRedirect(reverse("saved_views", args=[org_id]), status=303)
        return HttpResponseRedirect(view_url(org_id, view.slug), status=303)
    return HttpResponseRedirect(opened_url(org_id, view.slug, view.query))


@organisation_member_required(conceal=True)
@require_POST
def saved_view_delete(request: HttpRequest, org_id: str, slug: str) -> HttpResponse:
    view = visible_view(request.user, org_id, slug)
    if not may_change(request.user, view.owner_id):
        raise PermissionDenied("Only the view's owner or an administrator may delete it.")
    view.delete()
    return HttpResponseRedirect(reverse("saved_views", args=[org_id]), status=303)


def _list_page(
    request: HttpRequest, org_id: str, errors: list[str], *, posted=None
) -> HttpResponse:
    """The list of views; with `errors`, a 400 that says what was wrong with the form."""
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "views": [
            {
                "entry": entry,
                "url": opened_url(org_id, entry.slug, entry.query),
                "change_url": view_url(org_id, entry.slug),
                "delete_url": reverse("saved_view_delete", args=[org_id, entry.slug]),
                "may_change": may_change(request.user, entry.owner_id),
            }
            for entry in visible_to(request.user, org_id)
        ],
        "errors": errors,
        "posted": posted,
    }
    return render(request, "contacts/saved_views.html", context, status=400 if errors else 200)
