"""The organisations this dashboard serves, from the CONTACTSHIP_ORGANISATIONS setting."""

from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    # repr=False keeps the key out of tracebacks, debug pages and log lines that format the object.
    api_key: str = field(repr=False)


def _from_setting(org_id: str, entry: object) -> Organisation | None:
    if not isinstance(entry, dict):
        return None
    key = entry.get("api_key")
    name = entry.get("name")
    return Organisation(
        id=str(org_id),
        name=name if isinstance(name, str) and name else str(org_id),
        api_key=key if isinstance(key, str) else "",
    )


def organisation_list() -> list[Organisation]:
    """Every configured organisation, by name."""
    orgs = (
        _from_setting(org_id, entry) for org_id, entry in settings.CONTACTSHIP_ORGANISATIONS.items()
    )
    return sorted((o for o in orgs if o is not None), key=lambda o: o.name.casefold())


def organisation_get(org_id: str) -> Organisation | None:
    entry = settings.CONTACTSHIP_ORGANISATIONS.get(org_id)
    return None if entry is None else _from_setting(org_id, entry)
