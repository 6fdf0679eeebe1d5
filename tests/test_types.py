"""Parsing at the client's edge: tolerant of fields, strict about shape."""

from datetime import UTC, datetime

import pytest

from contacts.contact.query import ContactQuery
from contacts.search.filters import ContactFilter
from contacts.upstream.decode import contact_from_json, contacts_from_json
from contacts.upstream.errors import UpstreamBadResponse


def test_a_documented_contact_parses_into_typed_fields():
    c = contact_from_json(
        {
            "id": "c1",
            "created_at": "2023-01-01T12:00:00Z",
            "phone_number": "+12124567890",
            "full_name": "Juan Pérez",
            "country": "México",
            "email": "juan@ejemplo.com",
            "description": "Lead",
            "additional_data": [{"type": "location", "field": "dirección", "value": "Av. 1"}],
            "organization_id": "org123456",
        }
    )
    assert c.created_at == datetime(2023, 1, 1, 12, tzinfo=UTC)
    assert c.created_at_iso == "2023-01-01T12:00:00Z"
    assert c.additional_data[0].field == "dirección"
    assert c.full_name == "Juan Pérez"


def test_missing_null_odd_and_extra_fields_are_tolerated_one_by_one():
    c = contact_from_json(
        {
            "id": "c2",
            "created_at": "not a date",
            "email": None,
            "country": 7,
            "surprise": {"a": 1},
            "additional_data": [
                "junk",
                {"type": "number", "field": "score", "value": 87},
                {"type": "boolean", "field": "newsletter", "value": False},
                {"field": "nested", "value": {"k": "v"}},
            ],
        }
    )
    assert c.created_at is None and c.created_at_iso == ""
    assert c.email == "" and c.full_name == "" and c.country == "7"
    assert [(f.field, f.text) for f in c.additional_data] == [
        ("score", "87"),
        ("newsletter", "false"),
        ("nested", '{"k": "v"}'),
    ]


def test_a_naive_timestamp_is_taken_as_utc():
    assert contact_from_json({"id": "x", "created_at": "2023-01-05T09:30:00"}).created_at == (
        datetime(2023, 1, 5, 9, 30, tzinfo=UTC)
    )


@pytest.mark.parametrize("body", [{"data": []}, "text", None, 3])
def test_a_list_that_is_not_a_list_is_an_unexpected_answer(body):
    with pytest.raises(UpstreamBadResponse):
        contacts_from_json(body)


def test_an_item_that_is_not_an_object_is_an_unexpected_answer():
    with pytest.raises(UpstreamBadResponse):
        contacts_from_json([{"id": "a"}, ["b"]])


def test_the_filter_form_builds_a_query_in_the_api_names():
    f = ContactFilter({"full_name": "  ana ", "email": "", "phone_number": "+52 (55) 12-3"})
    assert f.is_valid()
    assert f.qs == ContactQuery(full_name="ana", phone_number="+5255123")
    assert f.qs.params() == {"full_name": "ana", "phone_number": "+5255123"}
    assert ContactFilter(None).qs == ContactQuery()
    assert not ContactQuery()


def test_the_query_refuses_lookups_the_api_cannot_do():
    with pytest.raises(TypeError):
        ContactQuery().filter(country__icontains="x")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"full_name": 'Ana "<b>" & Co', "email": "a@b", "phone_number": "+52 55"},
        {"created_from": "2024-01-31", "created_to": "not a date", "country": "México"},
    ],
)
def test_the_search_forms_inputs_render_as_djangos_templates_render_them(data):
    from django.forms.renderers import DjangoTemplates

    from contacts.search.filters import InputRenderer

    form = ContactFilter(data).form
    form.is_valid()
    assert isinstance(form.renderer, InputRenderer)
    for field in form:
        ours = field.as_widget()
        form.renderer = DjangoTemplates()
        theirs = field.as_widget()
        form.renderer = InputRenderer()
        assert ours == theirs, field.name


def test_a_search_form_with_errors_leaves_nothing_behind_for_the_next_one():
    # The forms share their fields (none is changed by a search): a refused search's errors,
    # values and marks must stay in its own form.
    refused = ContactFilter({"phone_number": "abc", "created_from": "not a date"}).form
    assert not refused.is_valid()
    refused_html = str(refused)
    assert 'aria-invalid="true"' in refused_html
    assert "abc" in refused_html

    clean = ContactFilter({"full_name": "ana"}).form
    assert clean.is_valid()
    clean_html = str(clean)
    assert "aria-invalid" not in clean_html
    assert "abc" not in clean_html
    assert 'value="ana"' in clean_html
    assert clean.fields["phone_number"] is refused.fields["phone_number"]
    assert clean.fields is not refused.fields
