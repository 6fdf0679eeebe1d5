import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .types import Contact

# The additional data shown in a table cell; the contact page shows all of it.
ADDITIONAL_DATA_PREVIEW = 2


class ContactTable(tables.Table):
    """One page of contacts, as the API returned it.

    No column sorts: the API cannot sort, and sorting only the rows on screen would look like
    sorting the whole result.
    """

    full_name = tables.Column(verbose_name=_("Name"), empty_values=())
    email = tables.Column(verbose_name=_("Email"))
    phone_number = tables.Column(verbose_name=_("Phone"), attrs={"td": {"class": "nowrap"}})
    country = tables.Column(verbose_name=_("Country"))
    created_at = tables.DateTimeColumn(
        verbose_name=_("Created"), format="DATE_FORMAT", attrs={"td": {"class": "nowrap"}}
    )
    description = tables.Column(verbose_name=_("Description"), attrs={"td": {"class": "wrap"}})
    additional_data = tables.Column(
        verbose_name=_("Additional data"), empty_values=((),), attrs={"td": {"class": "wrap"}}
    )

    class Meta:
        orderable = False
        template_name = "contacts/table.html"
        attrs = {"class": "contacts"}
        empty_text = _("No contacts match these filters.")

    def __init__(self, data, *, organisation_id: str, back_query: str = "", **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.organisation_id = organisation_id
        # The search's own parameters, so the contact page can lead back to the same results.
        self.back_query = f"?{back_query}" if back_query else ""

    def render_full_name(self, value: str, record: Contact) -> str:
        label = value or _("(no name)")
        if not record.id:
            return label
        url = reverse("contact_detail", args=[self.organisation_id, record.id]) + self.back_query
        return format_html('<a href="{}">{}</a>', url, label)

    def render_additional_data(self, value, record: Contact) -> str:
        shown = value[:ADDITIONAL_DATA_PREVIEW]
        items = format_html_join(
            "", '<li><span class="field">{}:</span> {}</li>', ((f.field, f.text) for f in shown)
        )
        more = len(value) - len(shown)
        if more:
            items += format_html('<li class="more">{}</li>', _("+{n} more").format(n=more))
        return format_html('<ul class="kv">{}</ul>', items)
