"""The summary's country facet: contacts by the country their country name means, in any
language ("España" and "Espanha" are one row), with the names it is written as under it.

While a scan runs it keeps one counter per name as written (trimmed), so the work per contact is
a dictionary increment and the country index is consulted once per distinct name, when the
rows are made.
"""

from collections import Counter
from typing import Any

from contacts.contact.countries import country_key
from contacts.contact.types import fold

CountryRow = dict[str, Any]  # {"value", "count", "variants": [{"value", "count"}, ...]}


class CountryFacet:
    """Counters for the country facet, fed one contact's country at a time."""

    def __init__(self) -> None:
        self.written: Counter[str] = Counter()  # name as written (trimmed) -> contacts
        self.none = 0  # contacts without a country

    def add(self, country: str) -> None:
        name = country.strip()
        if name:
            self.written[name] += 1
        else:
            self.none += 1

    def rows(self) -> list[CountryRow]:
        """One row per country, most contacts first, then the contacts without a country.

        A row's `value` is the name most of its contacts are written with (of equals, the first
        seen), its `count` all its contacts, and its `variants` every name it is written as, with
        their counts, most used first (of equals, the first seen). Names that mean no known
        country are grouped as the `country` filter matches them: case- and accent-insensitively.
        """
        groups: dict[str, list[dict[str, Any]]] = {}
        for name, n in self.written.items():  # in the order first seen
            groups.setdefault(country_key(name), []).append({"value": name, "count": n})
        rows = [_group_row(variants) for variants in groups.values()]
        rows.sort(key=lambda row: (-row["count"], fold(row["value"])))
        if self.none:
            rows.append({"value": None, "count": self.none, "variants": []})
        return rows


def _group_row(variants: list[dict[str, Any]]) -> CountryRow:
    variants.sort(key=lambda variant: -variant["count"])  # stable: equals stay first seen first
    return {
        "value": variants[0]["value"],
        "count": sum(variant["count"] for variant in variants),
        "variants": variants,
    }
