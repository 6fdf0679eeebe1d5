"""One country, however it is written: the name → ISO 3166 code index built from Babel's
territory names, the `country` filter that uses it and the summary's country facet."""

import os
import subprocess
import sys
import textwrap

import pytest

from contacts.contact import countries
from contacts.contact.countries import build_country_index, country_code, country_key
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.insights.countries import CountryFacet
from tests.support import ROOT


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("España", "ES"),
        ("Espanha", "ES"),
        ("Spain", "ES"),
        ("spain", "ES"),
        ("ESPAÑA", "ES"),
        ("  espana ", "ES"),
        ("ES", "ES"),
        ("es", "ES"),
        ("Uruguai", "UY"),
        ("Uruguay", "UY"),
        ("Estados Unidos", "US"),
        ("United Kingdom", "GB"),
        ("Reino Unido", "GB"),
        ("Deutschland", "DE"),
        ("Россия", "RU"),
        ("中国", "CN"),
        ("Ελλάδα", "GR"),
    ],
)
def test_a_name_in_any_language_gives_its_country_code(name, code):
    assert country_code(name) == code


@pytest.mark.parametrize("name", ["Atlantis", "Spain.", "", "European Union", "Unknown Region"])
def test_a_name_of_no_country_has_no_code_and_stays_as_written(name):
    assert country_code(name) is None
    assert country_key(name) == name.strip().casefold()


def test_names_the_locales_read_as_two_countries_take_the_most_common_meaning_or_none():
    # "Kongo": the Republic of the Congo in most locales, the Democratic Republic in one.
    assert country_code("Kongo") == "CG"
    # "Nigeri": Niger in one locale, Nigeria in another: an even split means no country.
    assert country_code("Nigeri") is None
    assert country_key("Nigeri") == "nigeri"


def test_the_index_is_the_same_on_every_build_and_holds_codes_only():
    first, second = build_country_index(), build_country_index()
    assert first == second
    codes = set(first.values())
    assert all(len(code) == 2 and code.isupper() for code in codes)
    assert {"ES", "UY", "BR", "MX"} <= codes and not codes & countries.NOT_COUNTRIES
    assert len(first) > 20_000


def test_a_code_and_a_folded_unknown_name_never_share_a_key():
    # A known name's key is its code (upper case); an unknown name's key is folded (lower case).
    assert country_key("ES") == country_key("España") == "ES"
    assert country_key("ATLANTIS ") == country_key("Atlántis") == "atlantis"


def test_the_country_filter_matches_every_name_of_the_same_country():
    query = ContactQuery(country="España")
    written = ["España", "Espanha", "Spain", "ESPAÑA", "es", " espanha "]
    assert all(query.matches(Contact(id="x", country=name)) for name in written)
    assert not query.matches(Contact(id="x", country="Portugal"))
    assert not query.matches(Contact(id="x", country=""))
    assert ContactQuery(country="uruguai").matches(Contact(id="x", country="Uruguay"))


def test_the_country_filter_matches_an_unknown_name_as_written_and_dash_as_none():
    atlantis = ContactQuery(country="atlantis")
    assert atlantis.matches(Contact(id="x", country="Atlántis"))
    assert not atlantis.matches(Contact(id="x", country="Atlantida"))
    none = ContactQuery(country="-")
    assert none.matches(Contact(id="x", country="  "))
    assert not none.matches(Contact(id="x", country="España"))


def test_the_facet_groups_a_country_and_names_it_by_its_most_used_spelling():
    facet = CountryFacet()
    for name in ["Espanha"] + ["España"] * 3 + ["Spain", "Espanha", "", "Atlantis", "atlántis "]:
        facet.add(name)
    rows = facet.rows()
    assert rows == [
        {
            "value": "España",
            "count": 6,
            "variants": [
                {"value": "España", "count": 3},
                {"value": "Espanha", "count": 2},
                {"value": "Spain", "count": 1},
            ],
        },
        {
            "value": "Atlantis",
            "count": 2,
            "variants": [{"value": "Atlantis", "count": 1}, {"value": "atlántis", "count": 1}],
        },
        {"value": None, "count": 1, "variants": []},
    ]


def test_of_two_equally_used_spellings_the_group_takes_the_first_seen():
    facet = CountryFacet()
    for name in ["Uruguai", "Uruguay", "Uruguay", "Uruguai"]:
        facet.add(name)
    assert [(row["value"], row["count"]) for row in facet.rows()] == [("Uruguai", 4)]


def run_python(code: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "DJANGO_DEBUG": "1"},
    )
    return result.stdout


def test_the_index_is_built_on_first_use_only_and_stays_small():
    """In a fresh process: nothing is built by importing the search, the query, the summary or
    by a query without a country; the first country asked builds it, once."""
    out = run_python(
        """
        import time, tracemalloc
        import django
        django.setup()
        from contacts.contact import countries
        from contacts.contact.query import ContactQuery
        from contacts.contact.types import Contact
        import contacts.insights.summary, contacts.search.contact_search  # noqa
        ContactQuery(full_name="ana").matches(Contact(id="x", country="España"))
        print(countries._index is None)
        started = time.perf_counter()
        ContactQuery(country="España").matches(Contact(id="x", country="Espanha"))
        took = time.perf_counter() - started
        index = countries._index
        ContactQuery(country="Uruguai").matches(Contact(id="x", country="Uruguay"))
        # What a build holds at its peak and keeps, measured on a build of its own (tracing
        # slows it several times over).
        tracemalloc.start()
        kept_index = countries.build_country_index()
        kept, peak = tracemalloc.get_traced_memory()
        print(countries._index is index, len(kept_index), took, kept, peak)
        """
    )
    unbuilt, line = out.splitlines()
    assert unbuilt == "True"
    same, names, took, kept, peak = line.split()
    assert same == "True" and int(names) > 20_000
    # 0.5 to 2 s on a quiet machine; the bound leaves room for a busy one.
    assert float(took) < 15
    # About 3 MB kept and 11 MB at the peak; through `babel.Locale` it would be about 200 MB.
    assert int(kept) < 8_000_000 and int(peak) < 40_000_000


def test_a_server_process_builds_the_index_as_it_starts():
    """dashboard.wsgi (what gunicorn loads) starts the build on a thread of its own, so that a
    worker's first summary does not wait for it."""
    out = run_python(
        """
        import threading
        import dashboard.wsgi  # noqa
        from contacts.contact import countries
        for thread in threading.enumerate():
            if thread.name == "country-index":
                thread.join()
        print(countries._index is not None and len(countries._index) > 20_000)
        """
    )
    assert out.strip() == "True"
