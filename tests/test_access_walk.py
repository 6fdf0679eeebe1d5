"""Every URL of the project, walked: is each one under the organisation access check?

The rule: anyone not logged in is sent to the login page; a user who is not
a member of `<org_id>` gets 403 or 404 on every URL under `/orgs/<org_id>/`; a member without the
export right gets 403 on exports. This module does not list the URLs it checks: it discovers them
from the URL resolver, so a URL added tomorrow is checked tomorrow without anyone remembering to.

Each organisation URL is checked twice, independently: its view must carry the mark that
`organisation_member_required` sets, and it is requested for real as four kinds of user. A URL
outside `orgs/<str:org_id>/` must be on the allow-list below, on purpose.
"""

import re
from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from contacts.demo.data import contacts_for
from contacts.models import SavedView
from tests.support import make_user

pytestmark = pytest.mark.django_db

ORG_PREFIX = "orgs/<str:org_id>/"
ORG_ID = "org-tejo"
MARK = "organisation_access_checked"

# Routes outside ORG_PREFIX that are meant to be reachable without organisation membership.
# Matched by prefix; keep each one's reason. Adding a line here is a decision, not a fix.
ALLOWED_PREFIXES = {
    # Django's login, logout and password views: they must answer before anyone is logged in.
    "accounts/": "Django's auth views",
    # Django's admin: staff only, behind its own login and permission checks.
    "admin/": "the Django admin",
    # Health checks: load balancers and monitors call them without a session; no contact data.
    "healthz": "health check",
    "health/": "health check",
    # Static files and translations: the same for everybody, no organisation data.
    "static/": "static files",
    "i18n/": "language switch",
    "jsi18n/": "JavaScript translation catalogue",
}
# Matched exactly: a prefix "" would allow everything.
ALLOWED_EXACT = {
    # The home page: login required, then it lists only the user's own organisations.
    "": "home page",
    # Staff only (tests/test_status.py): how the calls go, never a contact.
    "status/": "status page",
    # Prometheus' scrape: no session, a bearer token (DASHBOARD_METRICS_TOKEN), else a 404;
    # counts by organisation id, never a contact or a user (tests/test_metrics.py).
    "metrics": "Prometheus metrics",
}


@dataclass(frozen=True)
class Route:
    """One URL pattern of the project, with the patterns that lead to it."""

    route: str  # the full pattern, as Django's ResolverMatch.route spells it (without a leading ^)
    patterns: tuple  # RoutePattern / RegexPattern / LocalePrefixPattern, outermost first
    callback: object

    @property
    def is_org(self) -> bool:
        return self.route.startswith(ORG_PREFIX)

    @property
    def is_export(self) -> bool:
        # The bulk lookup's and the duplicates' files hold contacts like an export, and need
        # the same right. Their patterns are `lookup.<format>` and `duplicates.<format>`; their
        # pages are `lookup/` and `duplicates/`.
        return any(part in self.route for part in ("export", "/lookup.", "/duplicates."))

    def __str__(self) -> str:
        return self.route


def walk(resolver: URLResolver | None = None, parents: tuple = ()) -> list[Route]:
    """Every URL pattern reachable from `resolver` (the current ROOT_URLCONF by default)."""
    resolver = get_resolver() if resolver is None else resolver
    routes = []
    for entry in resolver.url_patterns:
        chain = (*parents, entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(walk(entry, chain))
        elif isinstance(entry, URLPattern):
            route = "".join(str(p).removeprefix("^") for p in chain)
            routes.append(Route(route=route, patterns=chain, callback=entry.callback))
        else:  # pragma: no cover - Django has no third kind today
            pytest.fail(f"Unknown entry in the URL configuration: {entry!r}")
    return routes


def is_allowed(route: str) -> bool:
    return route in ALLOWED_EXACT or route.startswith(tuple(ALLOWED_PREFIXES))


def unlisted_routes(routes: list[Route]) -> list[str]:
    """Routes outside the organisation prefix that nobody put on the allow-list."""
    return [r.route for r in routes if not r.is_org and not is_allowed(r.route)]


# --- filling a route's parameters ---------------------------------------------------------------

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^()]*\)")
REGEX_METACHARACTERS = set("^$*+?()[]{}|\\")


WALK_VIEW = "walk-view"


def fillers() -> dict[str, str]:
    """A value for every URL parameter name this test knows; a new name must be added here."""
    return {
        "org_id": ORG_ID,
        "contact_id": contacts_for(ORG_ID)[0]["id"],
        "fmt": "csv",
        "slug": WALK_VIEW,
    }


def _value(name: str, route: Route) -> str:
    values = fillers()
    if name not in values:
        pytest.fail(
            f"{route}: URL parameter {name!r} is new to tests/test_access_walk.py. Add a "
            f"plausible value for it to fillers(), so that the access walk can request this URL."
        )
    return values[name]


def url_for(route: Route) -> str:
    """The URL of `route` with every parameter filled in."""
    parts = []
    for pattern in route.patterns:
        text = str(pattern)
        if isinstance(pattern, RoutePattern):
            text = ROUTE_PARAMETER.sub(lambda m: _value(m["name"], route), text)
        elif isinstance(pattern, RegexPattern):
            text = text.removeprefix("^").removesuffix("$")
            text = REGEX_GROUP.sub(lambda m: _value(m["name"], route), text)
            text = re.sub(r"\\(.)", r"\1", text)
            if REGEX_METACHARACTERS & set(text):
                pytest.fail(f"{route}: cannot turn this regular expression into a URL to request.")
        parts.append(text)
    return "/" + "".join(parts)


# --- the check ----------------------------------------------------------------------------------


@pytest.fixture
def people(django_user_model) -> dict:
    return {
        "non-member (of org-harbor only)": make_user(
            django_user_model, "walk-outsider", {"org-harbor": True}
        ),
        "member without export right": make_user(django_user_model, "walk-viewer", {ORG_ID: False}),
        "member with export right": make_user(django_user_model, "walk-exporter", {ORG_ID: True}),
    }


def _get(client, user, url: str):
    """GET `url` as `user` (None: anonymous); returns the response and any exception raised."""
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    error = response.exc_info[1] if response.exc_info else None
    if response.streaming:
        try:
            b"".join(response.streaming_content)  # let an export run to its end
        except Exception as exc:
            error = exc
    return response, error


def _to_login(response, url: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.url)
    return location.path == resolve_url(settings.LOGIN_URL) and parse_qs(location.query).get(
        "next"
    ) == [url]


def access_problems(client, people: dict, route: Route) -> list[str]:
    """Everything wrong with one organisation URL's access check; empty when it is right."""
    problems = []
    view = getattr(route.callback, "__qualname__", repr(route.callback))
    if not getattr(route.callback, MARK, False):
        problems.append(
            f"view {view} has no {MARK} mark: wrap it in "
            f"contacts.access.organisation_member_required(export=...)"
        )
    url = url_for(route)
    served_by = resolve(url).route.removeprefix("^")
    if served_by != route.route:
        problems.append(f"GET {url} is served by {served_by!r}, so this route cannot be reached")

    # A view that runs without the check often crashes (no request.organisation): report that
    # as a finding next to the others rather than stopping at the first exception.
    client.raise_request_exception = False
    roles = [("anonymous", None), *people.items()]
    for role, user in roles:
        response, error = _get(client, user, url)
        status = response.status_code
        if error is not None:
            problems.append(f"{role}: GET {url} raised {type(error).__name__}: {error}")
            continue
        if role == "anonymous":
            ok, expected = _to_login(response, url), "302 to the login page with ?next="
        elif role.startswith("non-member"):
            ok, expected = status in (403, 404), "403 or 404"
        elif role == "member without export right" and route.is_export:
            ok, expected = status == 403, "403 (export needs the export right)"
        else:
            ok = status not in (403, 404) and not _to_login(response, url)
            expected = "to get through (no 403, 404 or login redirect)"
        if not ok:
            where = f" to {response.url}" if status in (301, 302, 303, 307, 308) else ""
            problems.append(f"{role}: GET {url} -> {status}{where}, expected {expected}")
    return problems


ROUTES = walk()
ORG_ROUTES = [r for r in ROUTES if r.is_org]


@pytest.mark.parametrize("route", [pytest.param(r, id=r.route) for r in ORG_ROUTES])
def test_organisation_url_is_behind_the_access_check(client, upstream, people, route):
    # A view every member may open, for the saved views' URLs.
    SavedView.objects.create(
        organisation_id=ORG_ID, slug=WALK_VIEW, name="Walk", shared=True, query="full_name=a"
    )
    problems = access_problems(client, people, route)
    assert not problems, f"{route} is not protected as the rule says:\n  " + "\n  ".join(problems)


def test_the_walk_finds_the_organisation_urls():
    # Guards against a walker that silently finds nothing and so checks nothing.
    found = "\n  ".join(r.route for r in ORG_ROUTES)
    assert len(ORG_ROUTES) >= 4, f"only {len(ORG_ROUTES)} organisation URLs found:\n  {found}"


def test_every_other_url_is_public_on_purpose():
    unlisted = unlisted_routes(ROUTES)
    assert not unlisted, (
        "These URLs are neither under orgs/<str:org_id>/ nor on the allow-list: "
        f"{unlisted}. If one shows an organisation's data, put it under orgs/<str:org_id>/ "
        "behind contacts.access.organisation_member_required; if it is meant to be reachable "
        "without organisation membership, add its prefix to ALLOWED_PREFIXES in "
        "tests/test_access_walk.py, with a comment saying why."
    )


# --- the walk catches a forgotten check ----------------------------------------------------------


def forgotten_check(request, org_id: str) -> HttpResponse:
    return HttpResponse(f"every secret of {org_id}")


# The project's URLs plus two mistakes; used as ROOT_URLCONF by the test below.
urlpatterns = [
    *import_module(settings.ROOT_URLCONF).urlpatterns,
    path("orgs/<str:org_id>/secret/", forgotten_check),
    path("reports/", forgotten_check, {"org_id": ORG_ID}),
]


def test_the_walk_reports_a_view_without_the_check(client, upstream, people):
    with override_settings(ROOT_URLCONF=__name__):
        routes = walk()
        secret = next(r for r in routes if r.route == "orgs/<str:org_id>/secret/")
        assert secret.is_org
        problems = access_problems(client, people, secret)
        assert unlisted_routes(routes) == [*unlisted_routes(ROUTES), "reports/"]
        # The real organisation URLs are still found next to the mistake.
        assert [r.route for r in routes if r.is_org] == [
            *(r.route for r in ORG_ROUTES),
            secret.route,
        ]

    assert any(MARK in p for p in problems), problems
    assert any(
        p.startswith("non-member") and "/orgs/org-tejo/secret/ -> 200" in p for p in problems
    ), problems
    assert any(p.startswith("anonymous") and "-> 200" in p for p in problems), problems
