"""The data-quality part of the summary and the `quality` filter, against the demo API over
loopback. Every figure is checked against counts recomputed here from the demo's raw contacts,
with the tests' own reading of the rules (tests.duplicate_keys: email-validator, phonenumbers
and unicodedata called directly), never the dashboard's counting code."""

import io
import json
import logging
import re
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from contacts.demo.data import contacts_for
from tests.duplicate_keys import expected_key
from tests.support import cache_contents, csv_rows, xlsx_rows
from tests.test_summary import expected, read_json, url

pytestmark = pytest.mark.django_db

REGIONS = {"org-tejo": "BR", "org-harbor": ""}  # as tests.conftest configures them
INVALID = object()  # a value present but refused by its rule


def trimmed(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def email_of(raw: dict):
    """None (missing), INVALID, or the key."""
    if not trimmed(raw.get("email")):
        return None
    return expected_key(raw, "email", "") or INVALID


def phone_of(raw: dict, region: str):
    """None (missing), INVALID, or the key."""
    if not trimmed(raw.get("phone_number")):
        return None
    return expected_key(raw, "phone", region) or INVALID


def fingerprint(raw: dict) -> str | None:
    return expected_key(raw, "name", "")


def groups(keys) -> dict:
    counts = Counter(k for k in keys if k is not None and k is not INVALID)
    shared = [n for n in counts.values() if n > 1]
    return {"groups": len(shared), "contacts": sum(shared)}


def expected_quality(contacts: list[dict], region: str) -> dict:
    emails = [email_of(c) for c in contacts]
    phones = [phone_of(c, region) for c in contacts]
    return {
        "missing": {
            name: sum(1 for c in contacts if not trimmed(c.get(name)))
            for name in ("full_name", "email", "phone_number", "country")
        },
        "invalid_email": sum(1 for k in emails if k is INVALID),
        "invalid_phone": sum(1 for k in phones if k is INVALID),
        "duplicate_email": groups(emails),
        "duplicate_phone": groups(phones),
        "possible_duplicate_name": groups(fingerprint(c) for c in contacts),
    }


def in_quality(raw: dict, rule: str, region: str) -> bool:
    if rule == "missing_email":
        return email_of(raw) is None
    if rule == "missing_phone":
        return phone_of(raw, region) is None
    if rule == "invalid_email":
        return email_of(raw) is INVALID
    return phone_of(raw, region) is INVALID


def expected_contacts(org_id: str, **filters: str) -> list[dict]:
    """The contacts matching `filters` (the quality one read here, the others as in
    tests.test_summary)."""
    rule = filters.pop("quality", "")
    found = expected(org_id, **filters)
    return [c for c in found if in_quality(c, rule, REGIONS[org_id])] if rule else found


def test_the_demo_data_exercises_every_rule():
    for org_id, region in REGIONS.items():
        want = expected_quality(list(contacts_for(org_id)), region)
        assert all(want["missing"].values()), org_id
        assert want["invalid_email"] and want["invalid_phone"], org_id
        for name in ("duplicate_email", "duplicate_phone", "possible_duplicate_name"):
            assert want[name]["groups"] >= 2, (org_id, name)
    raw = contacts_for("org-tejo")
    phones = [trimmed(c["phone_number"]) for c in raw]
    # One number written nationally (read in the organisation's region) and internationally.
    national = [p for p in phones if p and not p.startswith("+")]
    assert any(phone_of({"phone_number": p}, "BR") not in (None, INVALID) for p in national)
    emails = Counter(email_of(c) for c in raw)
    case_only = [c["email"] for c in raw if trimmed(c.get("email")) and emails[email_of(c)] > 1]
    assert len({e.strip() for e in case_only}) > len({e.strip().lower() for e in case_only})
    names = [trimmed(c.get("full_name")) for c in raw]
    assert any("," in n for n in names)  # a name with its words in another order
    fingerprints = Counter(fingerprint(c) for c in raw)
    accented = [
        n
        for n in names
        if n and not n.isascii() and fingerprints[fingerprint({"full_name": n})] > 1
    ]
    assert accented


FILTERS = [
    ("org-tejo", {}),
    ("org-harbor", {}),
    ("org-tejo", {"country": "brasil"}),
    ("org-tejo", {"full_name": "ana"}),
    ("org-tejo", {"created_from": "2020-01-01", "created_to": "2022-12-31"}),
    ("org-tejo", {"quality": "invalid_phone"}),
    ("org-tejo", {"quality": "missing_email", "country": "portugal"}),
    ("org-harbor", {"quality": "invalid_email"}),
]


@pytest.mark.parametrize(
    ("org_id", "filters"), FILTERS, ids=lambda f: urlencode(f) if isinstance(f, dict) else f
)
def test_summary_json_quality_matches_the_demo_data(member_client, upstream, org_id, filters):
    summary = read_json(member_client.get(url("contact_summary_json", org_id, **filters)))
    want = expected_contacts(org_id, **filters)
    assert summary["count"] == len(want)
    assert summary["quality"] == expected_quality(want, REGIONS[org_id])


@pytest.mark.parametrize(
    "rule", ["invalid_email", "invalid_phone", "missing_email", "missing_phone"]
)
def test_each_quality_filter_holds_exactly_the_counted_contacts(member_client, upstream, rule):
    everyone = read_json(member_client.get(url("contact_summary_json")))["quality"]
    counted = {
        "invalid_email": everyone["invalid_email"],
        "invalid_phone": everyone["invalid_phone"],
        "missing_email": everyone["missing"]["email"],
        "missing_phone": everyone["missing"]["phone_number"],
    }[rule]
    want = [c["id"] for c in expected_contacts("org-tejo", quality=rule)]
    assert len(want) == counted > 0
    response = member_client.get(url("contact_export", "org-tejo", "csv", quality=rule))
    assert response.status_code == 200
    rows = csv_rows(b"".join(response.streaming_content))
    assert [row[0] for row in rows[1:]] == want
    # The narrowed summary counts them too.
    narrowed = read_json(member_client.get(url("contact_summary_json", quality=rule)))
    assert narrowed["count"] == counted


def test_the_xlsx_export_takes_the_quality_filter(member_client, upstream):
    want = [c["id"] for c in expected_contacts("org-tejo", quality="invalid_email")]
    response = member_client.get(url("contact_export", "org-tejo", "xlsx", quality="invalid_email"))
    assert response.status_code == 200
    rows = xlsx_rows(b"".join(response.streaming_content))
    assert [row[0] for row in rows[1:]] == want


def test_the_search_page_takes_the_quality_filter(member_client, upstream):
    response = member_client.get(url("contact_list", quality="missing_phone"))
    assert response.status_code == 200
    body = response.content.decode()
    ids = re.findall(
        r'<td class="col-full_name"[^>]*><a href="/orgs/[^/]+/contacts/([0-9a-f-]{36})/', body
    )
    want = [c["id"] for c in expected_contacts("org-tejo", quality="missing_phone")]
    assert list(dict.fromkeys(ids)) == want
    # The form offers the filter as a choice, with the value chosen.
    assert '<option value="missing_phone" selected>No phone</option>' in body


def test_an_unknown_quality_is_the_forms_400(member_client, upstream):
    for name in ("contact_list", "contact_summary", "contact_summary_json"):
        response = member_client.get(url(name, quality="duplicates"))
        assert response.status_code == 400, name
    response = member_client.get(url("contact_export", "org-tejo", "csv", quality="nonsense"))
    assert response.status_code == 400


def test_the_summary_page_shows_the_quality_and_links_to_its_contacts(member_client, upstream):
    response = member_client.get(url("contact_summary", country="brasil"))
    page = b"".join(response.streaming_content).decode()
    want = expected_quality(expected_contacts("org-tejo", country="brasil"), "BR")
    assert 'id="facet-quality"' in page
    for rule, n in (
        ("invalid_email", want["invalid_email"]),
        ("invalid_phone", want["invalid_phone"]),
        ("missing_email", want["missing"]["email"]),
        ("missing_phone", want["missing"]["phone_number"]),
    ):
        link = f'href="/orgs/org-tejo/contacts/?country=brasil&amp;quality={rule}">{n:,}</a>'
        assert link in page, rule
    # Each duplicate figure leads to the duplicates page of the same search.
    duplicates = page[page.index('id="facet-duplicates"') :]
    for name, by in (
        ("duplicate_email", "email"),
        ("duplicate_phone", "phone"),
        ("possible_duplicate_name", "name"),
    ):
        row = want[name]
        assert row["groups"]
        link = f'href="/orgs/org-tejo/contacts/duplicates/?by={by}&amp;country=brasil"'
        assert (
            f'<td class="num"><a {link}>{row["groups"]:,}</a></td>'
            f'<td class="num">{row["contacts"]:,}</td>'
        ) in duplicates, name


def test_the_command_counts_the_quality_too(upstream):
    out = io.StringIO()
    call_command(
        "summarise_contacts", "org-tejo", "--quality", "invalid_phone", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())
    want = expected_contacts("org-tejo", quality="invalid_phone")
    assert summary["count"] == len(want) == summary["quality"]["invalid_phone"]
    assert summary["quality"] == expected_quality(want, "BR")
    out = io.StringIO()
    call_command("summarise_contacts", "org-harbor", stdout=out)
    text = out.getvalue()
    assert "Data quality:" in text and "duplicate_email" in text


def test_nothing_of_a_contact_is_kept_in_the_cache_or_the_logs(member_client, upstream, caplog):
    with caplog.at_level(logging.DEBUG):
        read_json(member_client.get(url("contact_summary_json")))
        read_json(member_client.get(url("contact_summary_json", quality="invalid_email")))
    kept = cache_contents()
    assert kept
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for raw in contacts_for("org-tejo"):
        for value in (raw.get("email"), raw.get("full_name"), raw.get("phone_number")):
            value = trimmed(value)
            if len(value) > 5:
                assert value.encode() not in kept
                assert value not in logged


def test_the_export_command_takes_the_quality_filter(upstream, tmp_path):
    target = tmp_path / "missing-phone.csv"
    call_command(
        "export_contacts", "org-tejo", "--output", str(target), "--quality", "missing_phone"
    )
    rows = csv_rows(target.read_bytes())
    assert [row[0] for row in rows[1:]] == [
        c["id"] for c in expected_contacts("org-tejo", quality="missing_phone")
    ]
