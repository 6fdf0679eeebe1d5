"""The search object: one reading of the request, one way to build every link."""

import pytest
from django.http import QueryDict
from django.urls import reverse

from contacts.contact.columns import InvalidColumns
from contacts.search.contact_search import ContactSearch
from contacts.upstream.organisations import KeySource, Organisation

ORG = Organisation(id="org-harbor", name="Harbor", key_source=KeySource(inline="k"))
PATH = "/orgs/org-harbor/contacts/"


def search(query: str = "", **kwargs) -> ContactSearch:
    return ContactSearch(QueryDict(query), organisation=ORG, path=PATH, **kwargs)


def test_the_request_is_read_once_into_the_search_state():
    s = search("email=gmail&full_name=ana&page=3&columns=email,full_name&refresh=1")
    assert s.valid and s.status == 200
    assert s.query.full_name == "ana" and s.query.email == "gmail"
    assert s.number == 3 and s.refresh and s.columns == ("email", "full_name")
    assert not s.continued


def test_links_keep_one_order_whatever_the_address_said():
    s = search("columns=email&page=2&email=gmail&full_name=ana")
    assert s.get_query_string() == "?full_name=ana&email=gmail&page=2&columns=email"
    assert s.page_url(3) == "?full_name=ana&email=gmail&page=3&columns=email"
    assert s.page_url(1) == "?full_name=ana&email=gmail&columns=email"
    assert s.refresh_url == "?full_name=ana&email=gmail&page=2&columns=email&refresh=1"
    assert s.get_query_string(remove=("columns", "page"), new_params={"full_name": None}) == (
        "?email=gmail"
    )


def test_a_link_with_nothing_left_is_the_path_itself():
    assert search("page=2").page_url(1) == PATH
    assert search().first_page_url == PATH


def test_exports_and_summary_carry_filters_and_columns_but_no_page():
    s = search("full_name=ana&page=4&columns=email")
    assert s.export_query == "full_name=ana&columns=email"
    assert s.summary_url == reverse("contact_summary", args=["org-harbor"]) + (
        "?full_name=ana&columns=email"
    )
    assert s.back_query == "full_name=ana&page=4"


def test_a_continuation_is_read_from_start_and_seen():
    s = search("country=Uruguay&start=300&seen=120&page=9")
    assert s.continued
    assert (s.start, s.seen) == (300, 120)
    assert s.get_query_string() == "?country=Uruguay&start=300&seen=120"
    assert s.first_page_url == "?country=Uruguay"


@pytest.mark.parametrize("value", ["x", "-5", "99999999999"])
def test_page_numbers_are_whole_and_bounded(value):
    s = search(f"page={value}")
    assert 1 <= s.number <= 100_000


def test_remembered_columns_are_asked_only_when_the_address_names_none():
    asked = []

    def remembered():
        asked.append(True)
        return ("email",)

    assert search("columns=full_name", remembered=remembered).columns == ("full_name",)
    assert asked == []
    assert search("full_name=a", remembered=remembered).columns == ("email",)
    assert asked == [True]


def test_invalid_input_makes_a_400_search_that_is_never_run():
    bad_phone = search("phone_number=abc")
    assert not bad_phone.valid and bad_phone.status == 400
    bad_columns = search("columns=nope")
    assert isinstance(bad_columns.columns_error, InvalidColumns)
    assert bad_columns.status == 400 and bad_columns.choosing_columns
