"""One country, however it is written, end to end against the demo API over loopback: org-tejo
writes Spain as "España" and "Espanha" and Uruguay as "Uruguai" and "Uruguay". The facet, its
links, the filter, the exports and the commands treat each pair as one country; every count is
recounted here from the demo's raw data."""

import csv
import json
import re
from collections import Counter, defaultdict
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse

from contacts.demo.data import contacts_for, country_names
from tests.support import body_of, csv_records

pytestmark = pytest.mark.django_db


def url(name: str, *more: str, **params: str) -> str:
    base = reverse(name, args=["org-tejo", *more])
    return f"{base}?{urlencode(params)}" if params else base


def summary_json(client, **filters: str) -> dict:
    return json.loads(body_of(client.get(url("contact_summary_json", **filters))))


def country_of(name: str) -> str | None:
    """The code of a country name the demo writes, by the demo's own knowledge."""
    return country_names().get(name)


def raw_names(code: str) -> Counter:
    """org-tejo's contacts of one country by the name they are written with."""
    names = ((c.get("country") or "").strip() for c in contacts_for("org-tejo"))
    return Counter(name for name in names if name and country_of(name) == code)


def test_the_demo_writes_spain_and_uruguay_in_two_languages():
    assert set(raw_names("ES")) == {"España", "Espanha"}
    assert set(raw_names("UY")) == {"Uruguai", "Uruguay"}


def test_the_facet_has_one_row_per_country_with_its_names_under_it(member_client, upstream):
    summary = summary_json(member_client)
    by_code: dict[str, list[dict]] = defaultdict(list)
    for row in summary["countries"]:
        if row["value"]:
            by_code[country_of(row["value"])].append(row)
    # One row per country, whatever the languages its contacts are written in.
    assert all(len(rows) == 1 for rows in by_code.values())
    for code, (row,) in by_code.items():
        written = raw_names(code)
        assert row["count"] == written.total()
        assert row["variants"] == [{"value": n, "count": c} for n, c in written.most_common()]
        # Named by the spelling most of its contacts use.
        assert row["value"] == written.most_common(1)[0][0]
    spain, uruguay = by_code["ES"][0], by_code["UY"][0]
    assert (spain["value"], uruguay["value"]) == ("España", "Uruguai")
    assert spain["count"] == raw_names("ES")["España"] + raw_names("ES")["Espanha"]


def test_the_summary_page_shows_the_names_under_the_group_and_links_by_it(member_client, upstream):
    page = body_of(member_client.get(url("contact_summary"))).decode()
    spain = raw_names("ES")
    row = re.search(r"<tr><td>España\s*<ul class=\"facet-variants\".*?</tr>", page, re.S)
    assert row, "Spain's row with the names it is written as"
    assert re.search(
        rf"<li>España {spain['España']}</li> <li>Espanha {spain['Espanha']}</li>", row.group()
    )
    assert f'href="/orgs/org-tejo/contacts/?country=Espa%C3%B1a">{spain.total()}</a>' in row.group()
    # A country written one way only has no list under it.
    assert re.search(r"<tr><td>Portugal\s*</td>", page)


def test_the_filter_finds_every_name_of_the_country_and_the_export_matches_the_facet(
    member_client, upstream
):
    facet = {r["value"]: r["count"] for r in summary_json(member_client)["countries"]}
    response = member_client.get(url("contact_export", "csv", country="España"))
    rows = csv_records(body_of(response))
    assert Counter(row["country"] for row in rows) == raw_names("ES")
    assert len(rows) == facet["España"]
    # Any of its names, in any language, or its code, narrows to the same contacts.
    for name in ("Espanha", "spain", "ES"):
        again = csv_records(body_of(member_client.get(url("contact_export", "csv", country=name))))
        assert [row["id"] for row in again] == [row["id"] for row in rows]


def test_the_summary_of_a_country_counts_all_its_names(member_client, upstream):
    summary = summary_json(member_client, country="Uruguay")
    assert summary["count"] == raw_names("UY").total()
    assert [r["value"] for r in summary["countries"]] == ["Uruguai"]


def test_the_commands_group_and_filter_the_same_way(upstream, tmp_path, capsys):
    spain = raw_names("ES")
    call_command("summarise_contacts", "org-tejo")
    out = capsys.readouterr().out
    assert f"{spain.total()}  España (España {spain['España']}, Espanha {spain['Espanha']})" in out
    target = tmp_path / "spain.csv"
    call_command("export_contacts", "org-tejo", "--country", "Espanha", "--output", str(target))
    with target.open(encoding="utf-8-sig", newline="") as f:
        assert Counter(row["country"] for row in csv.DictReader(f)) == spain
