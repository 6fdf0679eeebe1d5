"""The search form: the API's own filters and the dashboard's (country, dates, email domain,
data quality), checked and normalised, building a `ContactQuery`."""

import copy
import functools
import re

import django_filters
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from contacts.contact.quality import INVALID_EMAIL, INVALID_PHONE, MISSING_EMAIL, MISSING_PHONE
from contacts.contact.query import FILTER_FIELDS, POST_FILTER_FIELDS, ContactQuery

MAX_FILTER_LENGTH = 200
# Separators people type in phone numbers; the API stores "+12124567890".
PHONE_SEPARATORS = re.compile(r"[\s().-]")


class PhoneNumberField(forms.CharField):
    def clean(self, value):
        value = PHONE_SEPARATORS.sub("", super().clean(value) or "")
        if value and not re.fullmatch(r"\+?[0-9]+", value):
            raise forms.ValidationError(
                _("Use digits only, optionally starting with +, e.g. +52 55."), code="invalid"
            )
        return value


class PhoneNumberFilter(django_filters.CharFilter):
    field_class = PhoneNumberField


class EmailDomainField(forms.CharField):
    def clean(self, value):
        value = (super().clean(value) or "").removeprefix("@").lower()
        if value and not re.fullmatch(r"[^\s@]+", value):
            raise forms.ValidationError(
                _("Type the part after the @ only, e.g. gmail.com."), code="invalid"
            )
        return value


class EmailDomainFilter(django_filters.CharFilter):
    field_class = EmailDomainField


# The `quality` filter's values (contacts.contact.quality.QUALITY_FILTERS), as the form offers them.
QUALITY_CHOICES = (
    (INVALID_EMAIL, _("Email not valid")),
    (INVALID_PHONE, _("Phone not valid")),
    (MISSING_EMAIL, _("No email")),
    (MISSING_PHONE, _("No phone")),
)


# What the empty text fields show.
PLACEHOLDERS = {
    "full_name": _("e.g. Ana"),
    "email": _("e.g. gmail"),
    "phone_number": _("e.g. +52 55"),
    "country": _("e.g. México"),
    "email_domain": _("e.g. gmail.com"),
}


class DateInput(forms.DateInput):
    input_type = "date"


class InputRenderer(DjangoTemplates):
    """Django's template renderer, with its one-line `<input>` templates written out in Python:
    the search form renders seven inputs on every page, and through the template engine they
    cost more than the rest of the form. The output is the templates' own, character for
    character (tests/test_types.py compares them); any other widget renders as Django does."""

    INPUTS = frozenset({"django/forms/widgets/text.html", "django/forms/widgets/date.html"})

    def render(self, template_name: str, context: dict, request=None) -> str:
        if template_name not in self.INPUTS:
            return super().render(template_name, context, request)
        widget = context["widget"]
        html = [f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"']
        if widget["value"] is not None:
            html.append(f' value="{escape(str(widget["value"]))}"')
        for name, value in widget["attrs"].items():
            if value is True:
                html.append(f" {escape(name)}")
            elif value is not False:
                html.append(f' {escape(name)}="{escape(str(value))}"')
        html.append(">")
        return mark_safe("".join(html))  # noqa: S308 - every value escaped above


class ContactFilterForm(forms.Form):
    default_renderer = InputRenderer()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error(
                "created_to", forms.ValidationError(_("Choose a date after the first one."))
            )
        return cleaned


class ContactFilter(django_filters.FilterSet):
    """The search form. Its `qs` is a `ContactQuery` in the API's own parameter names."""

    full_name = django_filters.CharFilter(
        label=_("Name"), lookup_expr="icontains", max_length=MAX_FILTER_LENGTH, strip=True
    )
    email = django_filters.CharFilter(
        label=_("Email"), lookup_expr="icontains", max_length=MAX_FILTER_LENGTH, strip=True
    )
    phone_number = PhoneNumberFilter(
        label=_("Phone"), lookup_expr="icontains", max_length=MAX_FILTER_LENGTH, strip=True
    )
    # Applied by the dashboard while it scans the pages (`ContactQuery.matches`).
    country = django_filters.CharFilter(
        label=_("Country"), lookup_expr="exact", max_length=MAX_FILTER_LENGTH, strip=True
    )
    created_from = django_filters.DateFilter(
        label=_("Created from"), lookup_expr="exact", widget=DateInput
    )
    created_to = django_filters.DateFilter(
        label=_("Created to"), lookup_expr="exact", widget=DateInput
    )
    email_domain = EmailDomainFilter(
        label=_("Domain after @"), lookup_expr="exact", max_length=MAX_FILTER_LENGTH, strip=True
    )
    quality = django_filters.ChoiceFilter(
        label=_("Data quality"), lookup_expr="exact", choices=QUALITY_CHOICES, empty_label=_("Any")
    )

    class Meta:
        form = ContactFilterForm

    def __init__(self, data=None, **kwargs):
        super().__init__(data, queryset=ContactQuery(), **kwargs)

    def get_form_class(self) -> type[forms.Form]:
        # Every search has the same fields: the class is built once, and its forms share them.
        return _form_class(type(self))

    @property
    def api_fields(self) -> list[forms.BoundField]:
        """The fields Contactship applies itself."""
        return [self.form[name] for name in FILTER_FIELDS]

    @property
    def dashboard_fields(self) -> list[forms.BoundField]:
        """The fields the dashboard applies while it scans the pages."""
        return [self.form[name] for name in POST_FILTER_FIELDS]

    def chips(self, query: ContactQuery) -> list[tuple[str, str]]:
        """Each filter of `query` as a person reads it: its label, and its value (a choice's
        label for a choice)."""
        fields = self.form.fields
        return [
            (fields[name].label, dict(getattr(fields[name], "choices", ())).get(value, value))
            for name, value in query.params().items()
        ]

    def filter_queryset(self, queryset: ContactQuery) -> ContactQuery:
        # FilterSet's own version insists on a Django QuerySet; the filters themselves are reused.
        for name, value in self.form.cleaned_data.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset


class _SharedFilters(dict):
    """A FilterSet's filters, which django-filter deep-copies for each search: here each filter
    is copied alone (as `copy.copy`). The dashboard's filters keep no state of a search, and the
    copy still gets its own `parent`; a deep copy cost as much as the rest of the search form,
    mostly in copying lazy labels."""

    def __deepcopy__(self, memo: dict) -> dict:
        return {name: copy.copy(f) for name, f in self.items()}


ContactFilter.base_filters = _SharedFilters(ContactFilter.base_filters)


class _SharedFields(dict):
    """A form class's fields, which Django deep-copies into each form (`BaseForm.__init__`): here
    the form gets its own dict of the same fields. No search changes a field of the search form
    (its label, widget or choices); copying them (widgets, validators, lazy choice labels) cost
    about a sixth of what the page does before Contactship is asked."""

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


@functools.cache
def _form_class(filterset: type[ContactFilter]) -> type[forms.Form]:
    """The form of `filterset`'s filters (as django-filter builds it), with the inputs dressed
    for typing. type=search on the text fields: the same clear button (and Escape) in each, and
    no browser check of a partial email ("gmail") or number. inputmode brings the right keyboard
    on phones: letters and @ for email, the dial pad for the phone."""
    # From copies: a filter keeps the field it made, which each search's copy would copy again.
    fields = {name: copy.copy(f).field for name, f in filterset.base_filters.items()}
    for field in fields.values():
        if isinstance(field.widget, forms.Select):
            continue  # the quality filter: a choice, not typed
        field.widget.input_type = "search"
        field.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
    fields["email"].widget.attrs["inputmode"] = "email"
    fields["phone_number"].widget.attrs["inputmode"] = "tel"
    for name, example in PLACEHOLDERS.items():
        fields[name].widget.attrs["placeholder"] = example
    form_class = type(f"{filterset.__name__}Form", (filterset._meta.form,), fields)
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return form_class
