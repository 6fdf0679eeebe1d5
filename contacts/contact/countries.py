"""Which country a name means, in any language: "España", "Espanha", "Spain", "ESPAÑA" and
"ES" are one country.

Contactship keeps a contact's country as free text, written in the language of whoever typed it.
The dashboard groups and filters by the country a name means, from the territory names of the
Unicode CLDR that Babel ships: every locale's name of every territory with an ISO 3166-1
alpha-2 code gives that code, and so does the code itself. Names are compared as `fold` compares
them (case, accents and the spaces around them do not matter). A name that is in none of them
("Atlantis", "Spain." with its full stop) means no known country and is its own group, compared
folded, as before.

A few folded names mean two countries in different locales: "Kongo" is the Republic of the
Congo in 44 locales and the Democratic Republic in one; "Nigeri" is Niger in one and Nigeria in
another. Such a name means what most locales mean by it; a name they are evenly split on is
left out of the index, so it stays as written (about ten names, none in a Latin-script language
a contact list is likely to use).

Groupings and pseudo-regions that CLDR names with two letters but are no country a contact lives
in (European Union, Eurozone, United Nations, Outlying Oceania, Unknown Region, the
pseudo-locales) are left out too.

The index (about 34,000 names) is built on first use, in about half a second, and kept for the
life of the process (a few MB); a search without the country filter and without a summary never
builds it. It reads each locale's own names straight from Babel's data files rather than through
`babel.Locale`, which would merge and keep every locale's whole data (~200 MB) in Babel's cache.
"""

import pickle
import threading
from collections import Counter, defaultdict
from functools import lru_cache

from babel.localedata import locale_identifiers, resolve_locale_filename

from contacts.contact.types import fold

# Two-letter CLDR territories that are not a country a contact lives in.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})

_index: dict[str, str] | None = None
_lock = threading.Lock()


def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of the country `name` means, or None for a name of none."""
    return _country_index().get(fold(name))


@lru_cache(maxsize=4096)
def country_key(name: str) -> str:
    """What two country names share when they mean the same country: its code (two upper-case
    letters) when the name is known, else the name folded (lower-case, so never a code).
    Kept per name: a scan asks it for every contact, of a few distinct names."""
    folded = fold(name)
    return _country_index().get(folded, folded)


def warm_up() -> threading.Thread:
    """Build the index on a thread of its own, now: a server's process does at its start, so that
    its first summary does not wait for it."""
    thread = threading.Thread(target=_country_index, name="country-index", daemon=True)
    thread.start()
    return thread


def _country_index() -> dict[str, str]:
    global _index  # built once per process, on first use
    if _index is None:
        with _lock:
            if _index is None:
                _index = build_country_index()
    return _index


def build_country_index() -> dict[str, str]:
    """Every folded territory name of every locale → its code (see the module's docstring)."""
    meanings: defaultdict[str, Counter[str]] = defaultdict(Counter)
    codes: dict[str, str] = {}  # one string per code, shared by every name that means it
    for locale in locale_identifiers():
        for code, name in _territory_names(locale).items():
            if len(code) != 2 or not code.isalpha() or code in NOT_COUNTRIES:
                continue
            code = codes.setdefault(code, code)
            meanings[fold(name)][code] += 1
    index = {folded: code for folded, counts in meanings.items() if (code := _most_common(counts))}
    index.update((code.casefold(), code) for code in codes)
    return index


def _territory_names(locale: str) -> dict[str, str]:
    """The territory names one locale's own data file holds (not those it inherits, which are
    its parent's own)."""
    with open(resolve_locale_filename(locale), "rb") as data:
        # Babel's own data files, read as Babel itself reads them.
        return pickle.load(data).get("territories", {})  # noqa: S301


def _most_common(counts: Counter[str]) -> str | None:
    """The code most locales give a name, or None when two tie for most."""
    (first, n), *rest = counts.most_common(2)
    return None if rest and rest[0][1] == n else first
