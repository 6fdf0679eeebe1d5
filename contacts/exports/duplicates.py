"""The duplicates of a search: every matching contact that shares its key (email, phone or name,
see `contacts.contact.quality`) with another matching contact, in groups.

Groups come in the order their first contact appears in the search's result, and the contacts
of a group in the API's order. Two scans, so that memory holds only the duplicates, never the
whole result:

1. every matching contact's key is counted, as a keyed hash (blake2b, 8 bytes, with a key drawn
   for this run alone): no key, and nothing that could be matched against a list of known
   values, outlives the run;
2. the contacts whose key was counted twice or more are kept, grouped by key.

A contact that changed between the two scans (or a hash that collides) can leave a group of one:
it is dropped, so every group shown has two contacts or more. Nothing is stored: the counts, the
groups and the key die with the run.

`DuplicatesLayout` gives a download's columns: `group` (1, 2, …), `key`, then the export's.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from contacts.contact.columns import Columns
from contacts.contact.quality import email_key, name_key, phone_key
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.exports.layout import ExportLayout, TypedCell, spreadsheet_safe
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import Scan, ScanProgress, contact_scan

log = logging.getLogger(__name__)

BY_PARAM = "by"
EMAIL, PHONE, NAME = "email", "phone", "name"
KINDS = (EMAIL, PHONE, NAME)
DUPLICATE_COLUMNS = ("group", "key")
DIGEST_SIZE = 8


def contact_key(by: str, organisation: Organisation) -> Callable[[Contact], str | None]:
    """The function giving a contact's key of kind `by` (None: the contact has no such key)."""
    if by == EMAIL:
        return lambda contact: email_key(contact.email)
    if by == PHONE:
        region = organisation.default_region
        return lambda contact: phone_key(contact.phone_number, region)
    if by == NAME:
        return lambda contact: name_key(contact.full_name)
    raise ValueError(f"unknown duplicate key: {by!r}")


@dataclass
class DuplicateGroup:
    number: int  # 1, 2, … in the order of the groups
    key: str
    contacts: list[Contact]


@dataclass
class DuplicatesProgress:
    """How far the run has got: which scan (1 or 2), and that scan's progress."""

    scan: int = 0
    progress: ScanProgress = field(default_factory=ScanProgress)


class DuplicatesRun:
    """The duplicates of one search. `start()` asks for the first page (an upstream failure
    raises there, before anything is shown); iterate `steps()` for the progress after each page
    of both scans; then `groups`. `close()` (or leaving `steps` early) stops the scan under way.
    `on_page` is called after each page (a download's audit beats with it)."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        query: ContactQuery,
        by: str,
        on_page: Callable[[], None] | None = None,
    ) -> None:
        self.organisation = organisation
        self.query = query
        self.by = by
        self._key = contact_key(by, organisation)
        self._secret = secrets.token_bytes(16)
        self._on_page = on_page
        self._counts: dict[bytes, int] = {}
        self._kept: dict[str, list[Contact]] = {}
        self._scan: Scan | None = None
        self._first: list[Contact] = []
        self.state = DuplicatesProgress()
        self.groups: list[DuplicateGroup] | None = None
        self.matching = 0  # contacts matching the search, once the first scan is over

    def _digest(self, key: str) -> bytes:
        return hashlib.blake2b(key.encode(), key=self._secret, digest_size=DIGEST_SIZE).digest()

    def _open(self, number: int) -> Scan:
        self._scan = contact_scan(organisation=self.organisation, query=self.query)
        self.state = DuplicatesProgress(number, self._scan.progress)
        return self._scan

    def start(self) -> None:
        scan = self._open(1)
        try:
            self._first = next(scan, [])
        except BaseException:
            scan.close()
            raise

    def _count(self, page: list[Contact]) -> None:
        counts = self._counts
        for contact in page:
            key = self._key(contact)
            if key is not None:
                digest = self._digest(key)
                counts[digest] = counts.get(digest, 0) + 1

    def _keep(self, page: list[Contact]) -> None:
        counts, kept = self._counts, self._kept
        for contact in page:
            key = self._key(contact)
            if key is not None and counts.get(self._digest(key), 0) > 1:
                kept.setdefault(key, []).append(contact)

    def _pages(self, scan: Scan, use: Callable[[list[Contact]], None]) -> Iterator[ScanProgress]:
        try:
            for page in scan:
                use(page)
                if self._on_page is not None:
                    self._on_page()
                yield scan.progress
        finally:
            scan.close()

    def steps(self) -> Iterator[DuplicatesProgress]:
        if self._scan is None:
            self.start()
        assert self._scan is not None
        self._count(self._first)
        self._first = []
        yield self.state
        for _ in self._pages(self._scan, self._count):
            yield self.state
        self.matching = self.state.progress.rows
        if any(n > 1 for n in self._counts.values()):
            for _ in self._pages(self._open(2), self._keep):
                yield self.state
        self._counts = {}
        number = 0
        self.groups = []
        for key, contacts in self._kept.items():
            if len(contacts) > 1:
                number += 1
                self.groups.append(DuplicateGroup(number, key, contacts))
        self._kept = {}
        log.info(
            "duplicates org=%s by=%s matching=%d groups=%d contacts=%d",
            self.organisation.id,
            self.by,
            self.matching,
            len(self.groups),
            sum(len(group.contacts) for group in self.groups),
        )

    def run(self) -> list[DuplicateGroup]:
        """Both scans at once: the groups."""
        for _ in self.steps():
            pass
        assert self.groups is not None
        return self.groups

    def close(self) -> None:
        if self._scan is not None:
            self._scan.close()


class DuplicatesLayout:
    """A download's columns: `group`, `key`, then the export's (chosen, or by default with a
    column for every additional-data field of the contacts in the groups)."""

    def __init__(self, groups: list[DuplicateGroup], columns: Columns | None = None) -> None:
        kept = [contact for group in groups for contact in group.contacts]
        self.contact = ExportLayout(kept, columns)

    @property
    def header(self) -> list[str]:
        return [*DUPLICATE_COLUMNS, *self.contact.header]

    @property
    def names(self) -> list[str]:
        return [*DUPLICATE_COLUMNS, *self.contact.names]

    def values(self, group: DuplicateGroup, contact: Contact) -> list:
        """Text cells, spreadsheet-safe as an export's (`created_at` a datetime, or None)."""
        return [str(group.number), spreadsheet_safe(group.key), *self.contact.values(contact)]

    def typed_values(self, group: DuplicateGroup, contact: Contact) -> list[TypedCell]:
        return [group.number, group.key, *self.contact.typed_values(contact)]

    @property
    def created_at_index(self) -> int | None:
        index = self.contact.created_at_index
        return None if index is None else len(DUPLICATE_COLUMNS) + index
