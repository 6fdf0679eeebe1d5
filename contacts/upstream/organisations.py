"""The organisations this dashboard serves, from the CONTACTSHIP_ORGANISATIONS setting.

An organisation's key is given inline (`api_key`) or in a file (`api_key_file`, e.g. a container
secret), and so is the key it replaces during a rotation (`previous_api_key`,
`previous_api_key_file`). A key file is read again whenever it changes, and every call reads the
key when it is made: a key rotated while an export runs takes effect at the export's next call,
without a restart.
"""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# A key file's text by path, with what identified the version read (inode, size, mtime): one
# `stat` per call instead of a read.
_file_keys: dict[str, tuple[tuple[int, int, int], str]] = {}
_file_keys_lock = threading.Lock()


def _read_key_file(path: str) -> str:
    """The key held in the file at `path`, or "" when it cannot be read."""
    try:
        stat = os.stat(path)
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        known = _file_keys.get(path)
        if known is not None and known[0] == version:
            return known[1]
        key = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if not key and known is not None:
        # Caught while being rewritten in place (emptied, not yet written): the key read last
        # holds until the file has one again.
        return known[1]
    with _file_keys_lock:
        _file_keys[path] = (version, key)
    return key


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where a key comes from: inline text, a file, or nowhere."""

    inline: str = field(default="", repr=False)
    file: str = ""

    def read(self) -> str:
        if self.inline:
            return self.inline
        return _read_key_file(self.file) if self.file else ""

    @property
    def description(self) -> str:
        """For an operator: `inline`, `file <path>` or `none` (never the key)."""
        if self.inline:
            return "inline"
        return f"file {self.file}" if self.file else "none"

    @property
    def last_four(self) -> str:
        """The key's last four characters, enough to tell two keys apart; "" for a key too
        short to show any of it."""
        key = self.read()
        return key[-4:] if len(key) >= 8 else ""

    @classmethod
    def of(cls, entry: dict, prefix: str = "") -> "KeySource":
        """The source of `<prefix>api_key` / `<prefix>api_key_file` in a setting's entry."""
        key = entry.get(f"{prefix}api_key")
        if isinstance(key, str) and key.strip():
            return cls(inline=key.strip())
        path = entry.get(f"{prefix}api_key_file")
        return cls(file=path) if isinstance(path, str) and path else cls()


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    # repr=False keeps the keys out of tracebacks, debug pages and log lines that format the object.
    key_source: KeySource = field(default=KeySource(), repr=False)
    # ISO country code for phone numbers typed without + ("MX": "55 1234 5678"); "" for none.
    default_region: str = ""
    previous_key_source: KeySource = field(default=KeySource(), repr=False)

    @property
    def api_key(self) -> str:
        """The current key, read now ("" when there is none)."""
        return self.key_source.read()

    @property
    def previous_api_key(self) -> str:
        """The key being rotated out, tried once when Contactship rejects the current one; ""
        when there is none, or it is the current one."""
        previous = self.previous_key_source.read()
        return "" if previous == self.api_key else previous


def api_key_of(entry: dict) -> str:
    """The key an organisation's entry gives (inline or from its file), "" if none."""
    return KeySource.of(entry).read()


def _from_setting(org_id: str, entry: object) -> Organisation | None:
    if not isinstance(entry, dict):
        return None
    name = entry.get("name")
    region = entry.get("default_region")
    return Organisation(
        id=str(org_id),
        name=name if isinstance(name, str) and name else str(org_id),
        key_source=KeySource.of(entry),
        default_region=region.strip().upper() if isinstance(region, str) else "",
        previous_key_source=KeySource.of(entry, "previous_"),
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
