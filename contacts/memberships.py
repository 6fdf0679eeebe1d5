"""Memberships from the identity provider's groups (DASHBOARD_GROUP_MEMBERSHIPS).

The setting maps a group name to a list of grants, each "<org_id>" (may view) or
"<org_id>:export"; a person's grants are the union over their groups. At each sign-in (OIDC, or
the trusted header with its groups header) and each re-check, the part of the person's
memberships that comes *from groups* (`Membership.groups_grant`) is made to match those grants
exactly: added, upgraded, downgraded, removed. The part granted by hand (`add_member`, the
admin: `by_hand`, `hand_export`) is never touched here; where both give a right to one
organisation the broader one applies (`can_export`), and the hand grant stays when the group
goes.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from contacts.access import forget_rights
from contacts.models import Membership

EXPORT_SUFFIX = ":export"


def parse_grant(grant: object) -> tuple[str, bool] | None:
    """("org-id", may_export) for "org-id" or "org-id:export"; None for anything else."""
    if not isinstance(grant, str) or not grant.strip():
        return None
    grant = grant.strip()
    if grant.endswith(EXPORT_SUFFIX):
        org_id = grant.removesuffix(EXPORT_SUFFIX).strip()
        return (org_id, True) if org_id else None
    if ":" in grant:
        return None
    return grant, False


def mapping_problems(mapping: object, known_organisations: Iterable[str]) -> list[str]:
    """What is wrong with DASHBOARD_GROUP_MEMBERSHIPS, one sentence each (for `check`)."""
    if not isinstance(mapping, dict):
        return ["DASHBOARD_GROUP_MEMBERSHIPS must be a JSON object: group name → list of grants."]
    known = set(known_organisations)
    problems = []
    for group, grants in mapping.items():
        if not isinstance(grants, list):
            problems.append(f"Group {group!r}: the grants must be a list.")
            continue
        for grant in grants:
            parsed = parse_grant(grant)
            if parsed is None:
                problems.append(
                    f'Group {group!r}: {grant!r} is not "<org_id>" or "<org_id>:export".'
                )
            elif parsed[0] not in known:
                problems.append(
                    f"Group {group!r}: organisation {parsed[0]!r} is not in "
                    "CONTACTSHIP_ORGANISATIONS."
                )
    return problems


def grants_for(groups: Iterable[str]) -> dict[str, bool]:
    """Organisation id -> export right, the union of the grants of every group given."""
    mapping = settings.DASHBOARD_GROUP_MEMBERSHIPS
    if not isinstance(mapping, dict):
        return {}
    grants: dict[str, bool] = {}
    for group in groups:
        entries = mapping.get(group)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            parsed = parse_grant(entry)
            if parsed is not None:
                org_id, export = parsed
                grants[org_id] = grants.get(org_id, False) or export
    return grants


def _label(org_id: str, export: bool) -> str:
    return f"{org_id}{EXPORT_SUFFIX}" if export else org_id


def _groups_grant(export: bool | None) -> str:
    if export is None:
        return Membership.GroupsGrant.NONE
    return Membership.GroupsGrant.EXPORT if export else Membership.GroupsGrant.VIEW


def _change(org_id: str, old: str, new: str) -> str:
    if not new:
        return f"-{org_id}"
    label = _label(org_id, new == Membership.GroupsGrant.EXPORT)
    return f"+{label}" if not old else f"~{label}"


def sync_group_memberships(user, groups: Iterable[str]) -> list[str]:
    """Make the user's memberships from groups match `groups` exactly; what changed, as
    "+org", "+org:export" (added), "~org:export", "~org" (changed right), "-org" (removed)."""
    wanted = grants_for(groups)
    changes: list[str] = []
    with transaction.atomic():
        current = {
            m.organisation_id: m for m in Membership.objects.select_for_update().filter(user=user)
        }
        for org_id, membership in current.items():
            old, new = membership.groups_grant, _groups_grant(wanted.get(org_id))
            if old == new:
                continue
            changes.append(_change(org_id, old, new))
            if not new and not membership.by_hand:
                membership.delete()
                continue
            membership.groups_grant = new
            if not new:
                membership.can_export = membership.hand_export  # the hand grant alone again
            membership.save()
        for org_id, export in wanted.items():
            if org_id not in current:
                Membership.objects.create(
                    user=user,
                    organisation_id=org_id,
                    by_hand=False,
                    groups_grant=_groups_grant(export),
                )
                changes.append(_change(org_id, "", _groups_grant(export)))
    if changes:
        forget_rights(user.pk)
    return sorted(changes)
