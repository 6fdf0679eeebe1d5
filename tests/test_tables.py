"""The contacts table: its row builder gives the HTML of django-tables2's stock rendering."""

import re
import zoneinfo
from datetime import UTC, datetime

import django_tables2 as tables
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django_tables2.rows import BoundRow

from contacts.contact.types import AdditionalField, Contact
from contacts.demo.data import contacts_for
from contacts.search.tables import ContactTable, escape_html, titled_html
from contacts.upstream.decode import contacts_from_json

ORG_ID = "org-harbor"
BACK = "full_name=ana&page=2"

# The project's table template before the lean body: django-tables2's stock template, whose body
# renders every cell through BoundRow.items().
STOCK_TEMPLATE = """{% extends "django_tables2/table.html" %}
{% block table.thead %}
<thead>
  <tr>
    {% for column in table.columns %}
    <th scope="col" {{ column.attrs.th.as_html }}>{{ column.header }}</th>
    {% endfor %}
  </tr>
</thead>
{% endblock table.thead %}
{% block pagination %}{% endblock pagination %}"""


def _stock_created_at() -> tables.DateTimeColumn:
    lean = ContactTable.base_columns["created_at"]
    return tables.DateTimeColumn(
        verbose_name=lean.verbose_name, format=lean.day_format, attrs=lean.attrs
    )


class StockContactTable(ContactTable):
    """ContactTable with django-tables2's own DateTimeColumn (a template per cell)."""

    created_at = _stock_created_at()

    class Meta(ContactTable.Meta):
        pass


def odd_contacts() -> list[Contact]:
    """Contacts with what the demo data has only now and then."""
    return [
        Contact(id="", full_name="No id <b>", email="", country="México"),
        Contact(
            id="3f1c0c5e-0000-4000-8000-000000000001",
            full_name="",
            created_at=None,
            description='Quotes " & <script>alert(1)</script>',
            additional_data=tuple(
                AdditionalField(type="text", field=f"f<{n}>", value=f"v&{n}") for n in range(4)
            ),
        ),
        Contact(
            id="id with spaces and ñ",
            full_name="Ünïcödé 名前",
            # 31 December in Mexico City, 1 January in UTC and in Tokyo.
            created_at=datetime(2025, 1, 1, 3, 30, tzinfo=UTC),
            additional_data=(AdditionalField(type="boolean", field="vip", value=True),),
        ),
    ]


def demo_contacts() -> list[Contact]:
    return contacts_from_json(list(contacts_for(ORG_ID)))


def normalised(html: str) -> str:
    """The HTML without the whitespace around tags, where the two templates differ."""
    return re.sub(r"\s*(<[^>]*>)\s*", r"\1", html).strip()


def lean_html(data, table_class=ContactTable) -> str:
    request = RequestFactory().get("/")
    return table_class(data, organisation_id=ORG_ID, back_query=BACK).as_html(request)


def stock_html(data, table_class=StockContactTable) -> str:
    request = RequestFactory().get("/")
    table = table_class(data, organisation_id=ORG_ID, back_query=BACK)
    template = engines["django"].from_string(STOCK_TEMPLATE)
    return template.render({"table": table}, request)


@pytest.mark.parametrize(
    "language, zone",
    [
        ("en", "UTC"),
        ("es", "America/Mexico_City"),
        ("es", "Asia/Tokyo"),
        ("pt-br", "America/Sao_Paulo"),
    ],
)
def test_the_lean_body_renders_what_django_tables2_renders(language, zone):
    data = demo_contacts() + odd_contacts()
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        lean, stock = lean_html(data), stock_html(data)
    assert normalised(lean) == normalised(stock)
    assert lean.count("<tr ") == len(data)
    assert 'scope="col"' in lean


def test_the_lean_body_does_not_use_django_tables2s_per_cell_path(monkeypatch):
    def refuse(self, name):
        raise AssertionError(f"BoundRow.get_cell({name!r}) called for a Contact")

    monkeypatch.setattr(BoundRow, "get_cell", refuse)
    html = lean_html(demo_contacts()[:100])
    assert html.count("<tr ") == 100


def test_an_empty_table_shows_the_empty_text():
    html = lean_html([])
    assert normalised(html) == normalised(stock_html([]))
    assert '<td colspan="7">No contacts match these filters.</td>' in html


def test_cells_link_to_the_contact_with_the_searchs_query_and_escape_everything():
    html = lean_html(odd_contacts())
    assert "No id &lt;b&gt;</td>" in html  # no id: no link, escaped
    assert (
        f'<a href="/orgs/{ORG_ID}/contacts/3f1c0c5e-0000-4000-8000-000000000001/'
        '?full_name=ana&amp;page=2" title="(no name)">(no name)</a>'
    ) in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert '<li><span class="field">f&lt;0&gt;:</span> v&amp;0</li>' in html
    # "+2 more" leads to the contact page, which shows all of it.
    assert (
        f'<li class="more"><a href="/orgs/{ORG_ID}/contacts/3f1c0c5e-0000-4000-8000-000000000001/'
        '?full_name=ana&amp;page=2">+2 more</a></li>'
    ) in html
    assert '<td class="col-created_at">—</td>' in html  # no created_at: the default


def test_phone_numbers_read_internationally_and_dial_the_stored_number():
    html = lean_html([Contact(id="x1", full_name="A", phone_number="+525512345678")])
    assert '<a href="tel:+525512345678">+52 55 1234 5678</a>' in html


@pytest.mark.parametrize(
    "contact_id", ["3f1c0c5e-0000-4000-8000-000000000001", "abc_DEF.1~x", "a:b@c+d"]
)
def test_contact_urls_are_what_reverse_gives(contact_id):
    table = ContactTable([], organisation_id="org tejo ñ", back_query=BACK)
    expected = reverse("contact_detail", args=["org tejo ñ", contact_id]) + f"?{BACK}"
    assert table.contact_url(contact_id) == expected


@pytest.mark.parametrize("contact_id", ["id with spaces", "ñandú", "a%2Fb", "a/b", "..", ".", ""])
def test_ids_the_contact_page_refuses_get_no_link(contact_id):
    # The contact page answers 404 for these without asking Contactship: no link leads there.
    table = ContactTable([], organisation_id="org-tejo", back_query=BACK)
    assert table.contact_url(contact_id) == ""
    html = lean_html([Contact(id=contact_id, full_name="Odd Id")])
    assert "Odd Id" in html
    assert "/contacts/" not in html.split("Odd Id")[0].rsplit("<td", 1)[-1]


def test_dates_follow_the_language_of_each_rendering():
    contact = Contact(id="x1", created_at=datetime(2024, 3, 5, 12, 0, tzinfo=UTC))
    table = ContactTable([contact], organisation_id=ORG_ID)
    request = RequestFactory().get("/")
    with translation.override("en"):
        english = table.as_html(request)
    with translation.override("es"):
        spanish = table.as_html(request)
    # Short dates keep the column narrow; the order of day and month follows the language.
    assert "03/05/2024" in english
    assert "05/03/2024" in spanish


class TableWithAnExtraColumn(ContactTable):
    nickname = tables.Column()

    class Meta(ContactTable.Meta):
        pass


def test_a_column_without_a_cell_builder_fails_loudly():
    table = TableWithAnExtraColumn(odd_contacts(), organisation_id=ORG_ID)
    with pytest.raises(ImproperlyConfigured, match="'nickname' has no cell builder"):
        table.as_html(RequestFactory().get("/"))


def test_the_escaping_helper_escapes_text_and_keeps_safe_html():
    assert escape_html('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert escape_html(mark_safe("<b>&lt;i&gt;</b>")) == "<b>&lt;i&gt;</b>"
    assert escape_html(translation.gettext_lazy("a & b")) == "a &amp; b"
    assert escape_html(5) == "5"
    assert titled_html("O'Neil <3") == '<span title="O&#x27;Neil &lt;3">O&#x27;Neil &lt;3</span>'


def test_an_id_no_url_can_carry_shows_the_name_without_a_link():
    from contacts.contact.types import Contact
    from contacts.search.tables import ContactTable

    table = ContactTable(
        [Contact(id="a/b", full_name="Slash Id")], organisation_id="org-tejo", back_query=""
    )
    assert table.render_full_name("Slash Id", table.data[0]) == "Slash Id"


def test_chosen_columns_are_one_line_cells_like_the_default_ones():
    """Columns the picker adds are sized, cut and titled like the default ones: a
    phone number in additional data reads internationally, and each cell names itself for the
    phone's card, which has no header row."""
    contact = Contact(
        id="3f1c0c5e-0000-4000-8000-000000000001",
        full_name="Ana",
        additional_data=(
            AdditionalField(type="phone", field="móvil", value="+525512345678"),
            AdditionalField(type="text", field="notes", value="first <b>"),
            AdditionalField(type="text", field="notes", value="second"),
        ),
    )
    table = ContactTable(
        [contact],
        organisation_id=ORG_ID,
        columns=("data.móvil", "data.notes", "id"),
    )
    html = table.as_html(RequestFactory().get("/"))
    assert (
        '<td class="col-data" dir="auto" data-label="móvil">'
        '<span title="+52 55 1234 5678">+52 55 1234 5678</span></td>'
    ) in html
    assert (
        '<td class="col-data" dir="auto" data-label="notes">'
        '<span title="first &lt;b&gt;; second">first &lt;b&gt;; second</span></td>'
    ) in html
    assert (
        '<td class="col-id" data-label="Id"><span title="3f1c0c5e-0000-4000-8000-000000000001">'
        "3f1c0c5e-0000-4000-8000-000000000001</span></td>"
    ) in html
    # Without the name, "Open" leads to the contact, in the name's place on a phone.
    assert '<td class="col-open"><a href=' in html


def test_a_phone_number_of_spaces_only_is_no_link():
    html = lean_html([Contact(id="x1", full_name="A", phone_number="   ")])
    assert "tel:" not in html
    assert normalised(html) == normalised(
        stock_html([Contact(id="x1", full_name="A", phone_number="   ")])
    )
