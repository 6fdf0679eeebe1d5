"""Whatever a contact's id or date, every page that shows the contact answers calmly.

Contactship's ids are UUIDs, but nothing in its documentation promises it: an id with a "/"
(which no address of ours can carry), an empty one or none at all must give a page without a
link, never a 500 or a cut stream. Dates far apart must not draw a bar for every month between.
The bundled demo API never answers such contacts, so an API double stands in for it here.
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.urls import reverse

from tests.conftest import ORGANISATIONS

pytestmark = pytest.mark.django_db

ORG = "org-tejo"
FAKE_URL = "https://contactship.test/v1"
NDJSON = "application/x-ndjson"


def contact(contact_id, email, **fields) -> dict:
    body = {
        "full_name": f"Person {email.split('@')[0]}",
        "email": email,
        "phone_number": "+5511987654321",
        "country": "Brasil",
        "description": "",
        "created_at": "2024-03-01T10:00:00Z",
        "organization_id": ORG,
        "additional_data": [],
        **fields,
    }
    if contact_id is not ...:
        body["id"] = contact_id
    return body


ODD = {
    "slash": contact("a/b", "slash@example.com"),
    "empty": contact("", "empty@example.com"),
    "missing": contact(..., "missing@example.com"),
    "dots": contact("..", "dots@example.com"),
    "plain": contact("c0ffee00-0000-4000-8000-000000000001", "plain@example.com"),
}


@pytest.fixture
def api(settings):
    settings.CONTACTSHIP_API_URL = FAKE_URL
    settings.CONTACTSHIP_ORGANISATIONS = ORGANISATIONS
    by_email = {c["email"]: c for c in ODD.values()}

    def one(request):
        value = request.path_url.split("/contacts/", 1)[1].split("?", 1)[0]
        found = by_email.get(value.replace("%40", "@"))
        if found is None:
            return 404, {}, json.dumps({"error": "not found"})
        return 200, {}, json.dumps(found)

    def page(request):
        offset = int(parse_qs(urlsplit(request.url).query).get("offset", ["0"])[0])
        return 200, {}, json.dumps(list(ODD.values()) if offset == 0 else [])

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(rf"{FAKE_URL}/contacts/.+"), callback=one)
        mock.add_callback(responses.GET, f"{FAKE_URL}/contacts", callback=page)
        yield mock


@pytest.mark.parametrize("name", ["slash", "empty", "missing", "dots"])
def test_quick_find_of_a_contact_without_a_usable_id_shows_it_in_the_search(
    member_client, api, name
):
    email = ODD[name]["email"]
    response = member_client.get(reverse("contact_find", args=[ORG]), {"q": email})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"email": [email]}
    page = member_client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "has no page of its own" in text
    assert ODD[name]["full_name"] in text


def test_quick_find_of_a_plain_id_still_opens_the_contact(member_client, api):
    response = member_client.get(reverse("contact_find", args=[ORG]), {"q": "plain@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("contact_detail", args=[ORG, ODD["plain"]["id"]])


def test_the_lookup_page_without_javascript_shows_every_odd_contact(member_client, api):
    emails = "\n".join(c["email"] for c in ODD.values())
    response = member_client.post(reverse("contact_lookup", args=[ORG]), {"identifiers": emails})
    assert response.status_code == 200
    page = response.content.decode()
    for odd in ODD.values():
        assert odd["full_name"] in page
    table = page[page.index('id="lookup-table"') :]
    links = re.findall(r'href="(/orgs/[^"]+/contacts/[^"]+/)"', table)
    assert links == [reverse("contact_detail", args=[ORG, ODD["plain"]["id"]])]
    assert "no-store" in response["Cache-Control"]


def test_the_streamed_lookup_runs_to_its_end_with_odd_ids(member_client, api):
    emails = "\n".join(c["email"] for c in ODD.values())
    response = member_client.post(
        reverse("contact_lookup", args=[ORG]), {"identifiers": emails}, headers={"Accept": NDJSON}
    )
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert lines[-1]["type"] == "end"
    rows = {row["input"]: row for row in lines if row["type"] == "row"}
    assert {row["status"] for row in rows.values()} == {"found"}
    urls = {email: row["contact"]["url"] for email, row in rows.items()}
    assert urls == {
        "slash@example.com": "",
        "empty@example.com": "",
        "missing@example.com": "",
        "dots@example.com": "",
        "plain@example.com": reverse("contact_detail", args=[ORG, ODD["plain"]["id"]]),
    }


def test_the_search_page_lists_odd_ids_without_links(member_client, api):
    response = member_client.get(reverse("contact_list", args=[ORG]))
    assert response.status_code == 200
    page = response.content.decode()
    for odd in ODD.values():
        assert odd["full_name"] in page
    assert 'href="/orgs/org-tejo/contacts/../' not in page
    assert "a/b/" not in page


def test_dates_thousands_of_years_apart_make_a_short_chart(member_client, api):
    dates = ["0001-01-15T00:00:00Z", "0001-02-15T00:00:00Z", "9999-11-15T00:00:00Z"]
    for odd, created in zip(ODD.values(), dates, strict=False):
        odd["created_at"] = created
    try:
        response = member_client.get(reverse("contact_summary", args=[ORG]))
        page = b"".join(response.streaming_content).decode()
    finally:
        for odd in ODD.values():
            odd["created_at"] = "2024-03-01T10:00:00Z"
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert len(page) < 100_000
    bars = re.findall(r"<rect ", page)
    # 0001-01, 0001-02, 9999-11, 2024-03 (the other two contacts): four bars and two gaps
    assert len(bars) == 4
    assert page.count('class="chart-gap"') == 2
    # the table lists the four months with contacts, not the gaps between them
    months = re.findall(r"<tr><td>(\d+-\d{2})</td>", page)
    assert len(months) == 4 and months[2:] == ["2024-03", "9999-11"], months
    # and the cached summary, opened again, is as short and not kept by the browser either
    again = member_client.get(reverse("contact_summary", args=[ORG]))
    assert again.status_code == 200
    assert "no-store" in again["Cache-Control"]
    assert len(re.findall(r"<rect ", again.content.decode())) == 4
