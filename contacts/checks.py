"""`manage.py check` tells an operator what is wrong with the organisations setting.

Messages name organisations, never keys.
"""

from django.conf import settings
from django.core.checks import Error, Warning, register

from contacts.contact.identifiers import valid_region
from contacts.memberships import mapping_problems
from contacts.oidc import client_secret, oidc_enabled
from contacts.upstream.organisations import api_key_of

MAX_PAGE_SIZE = 100  # "a maximum of 100 contacts per request"


@register()
def organisations_check(app_configs, **kwargs):
    orgs = settings.CONTACTSHIP_ORGANISATIONS
    if not isinstance(orgs, dict):
        return [
            Error(
                "CONTACTSHIP_ORGANISATIONS must be a JSON object of organisation id → "
                '{"name": ..., "api_key": ...}.',
                id="contacts.E001",
            )
        ]
    problems = []
    if not orgs:
        problems.append(
            Warning(
                "CONTACTSHIP_ORGANISATIONS is empty: nobody can search any contacts.",
                id="contacts.W001",
            )
        )
    for org_id, entry in orgs.items():
        if not isinstance(entry, dict):
            problems.append(
                Error(f"Organisation {org_id!r} must be a JSON object.", id="contacts.E002")
            )
        elif not api_key_of(entry):
            problems.append(
                Error(
                    f"Organisation {org_id!r} has no usable key: set api_key, or api_key_file "
                    "to a readable file holding the key.",
                    id="contacts.E003",
                )
            )
        region = entry.get("default_region", "") if isinstance(entry, dict) else ""
        if region and not (isinstance(region, str) and valid_region(region.strip())):
            problems.append(
                Error(
                    f"Organisation {org_id!r} has default_region {region!r}, which is not a "
                    'country code phone numbers are known for (e.g. "MX", "ES").',
                    id="contacts.E005",
                )
            )
    return problems


@register()
def paging_check(app_configs, **kwargs):
    # A page size above what the API serves would make every page look short and every export
    # stop after its first page.
    size = settings.CONTACTSHIP_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        return [
            Error(
                f"CONTACTSHIP_PAGE_SIZE must be between 1 and {MAX_PAGE_SIZE} (the API's maximum).",
                id="contacts.E004",
            )
        ]
    return []


@register(deploy=True)
def framing_check(app_configs, **kwargs):
    if settings.DASHBOARD_FRAMED_CROSS_SITE and not settings.DASHBOARD_HTTPS:
        return [
            Warning(
                "DASHBOARD_FRAME_ANCESTORS names another site, which needs SameSite=None cookies, "
                "and browsers accept those only over HTTPS: set DASHBOARD_HTTPS=1.",
                id="contacts.W002",
            )
        ]
    return []


@register(deploy=True)
def remote_user_check(app_configs, **kwargs):
    if settings.DASHBOARD_REMOTE_USER_HEADER and not settings.DASHBOARD_TRUSTED_PROXIES:
        return [
            Warning(
                "DASHBOARD_REMOTE_USER_HEADER is set but DASHBOARD_TRUSTED_PROXIES is empty: the "
                "header is believed from no address, so nobody can sign in by it. Set "
                "DASHBOARD_TRUSTED_PROXIES to the addresses of the reverse proxies that set it.",
                id="contacts.W003",
            )
        ]
    return []


@register()
def group_memberships_check(app_configs, **kwargs):
    """DASHBOARD_GROUP_MEMBERSHIPS: every grant "<org_id>" or "<org_id>:export", every
    organisation configured (a typo would silently grant nothing)."""
    orgs = settings.CONTACTSHIP_ORGANISATIONS
    known = orgs.keys() if isinstance(orgs, dict) else ()
    return [
        Error(problem, id="contacts.E006")
        for problem in mapping_problems(settings.DASHBOARD_GROUP_MEMBERSHIPS, known)
    ]


@register(deploy=True)
def oidc_check(app_configs, **kwargs):
    if not oidc_enabled():
        return []
    secret_file = settings.DASHBOARD_OIDC_CLIENT_SECRET_FILE
    if secret_file and not client_secret():
        return [
            Error(
                f"DASHBOARD_OIDC_CLIENT_SECRET_FILE ({secret_file}) cannot be read, or is empty.",
                id="contacts.E007",
            )
        ]
    if not client_secret():
        return [
            Warning(
                "DASHBOARD_OIDC_ISSUER is set without DASHBOARD_OIDC_CLIENT_SECRET (or _FILE): "
                "only a provider that accepts public clients (PKCE alone) will let people in.",
                id="contacts.W004",
            )
        ]
    return []


@register()
def demo_run_check(app_configs, **kwargs):
    """`make manage` with no `make run` under way: say so, rather than fail on each call."""
    if getattr(settings, "DASHBOARD_DEMO_RUNNING", None) is not False:
        return []
    return [
        Warning(
            "No `make run` is running, so there is no demo Contactship API to talk to: commands "
            "that ask Contactship (export_contacts, summarise_contacts, check_keys) will fail.",
            hint="Start `make run` (in another terminal), or set CONTACTSHIP_API_URL.",
            id="contacts.W005",
        )
    ]
