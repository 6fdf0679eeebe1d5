"""The organisations this dashboard serves, from the CONTACTSHIP_ORGANISATIONS setting."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    # repr=False keeps the key out of tracebacks, debug pages and log lines that format the object.
    api_key: str = field(repr=False)
    # ISO country code for phone numbers typed without + ("MX": "55 1234 5678"); "" for none.
    default_region: str = ""


def api_key_of(entry: dict) -> str:
    """The key given inline (`api_key`) or in a file (`api_key_file`, e.g. a container secret).

    The file is read on each use, so a rotated secret takes effect without a restart. An
    unreadable file gives no key: calls then fail as "key missing" and `check` names the
    organisation.
    """
    key = entry.get("api_key")
    if isinstance(key, str) and key.strip():
        return key.strip()
    path = entry.get("api_key_file")
    if isinstance(path, str) and path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""
    return ""


def _from_setting(org_id: str, entry: object) -> Organisation | None:
    if not isinstance(entry, dict):
        return None
    name = entry.get("name")
    region = entry.get("default_region")
    return Organisation(
        id=str(org_id),
        name=name if isinstance(name, str) and name else str(org_id),
        api_key=api_key_of(entry),
        default_region=region.strip().upper() if isinstance(region, str) else "",
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
