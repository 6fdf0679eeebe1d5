"""The filters of one search, as an immutable value django-filter can build."""

from dataclasses import dataclass, replace
from datetime import UTC, date

from contacts.contact.countries import country_key
from contacts.contact.quality import quality_matches
from contacts.contact.types import NO_COUNTRY, Contact, email_domain, fold

# The API's own filter names, which are also the dashboard's GET parameters.
FILTER_FIELDS = ("full_name", "email", "phone_number")
# Filters the API lacks, applied by the dashboard to each contact while it scans the pages.
POST_FILTER_FIELDS = ("country", "created_from", "created_to", "email_domain", "quality")


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """The filters of one search: the API's own (`full_name`, `email`, `phone_number`, partial
    matches sent upstream) and the dashboard's (`country`, `created_from`, `created_to`,
    `email_domain`, `quality`, checked against each contact by `matches` while a scan walks the
    pages).

    It stands in for a QuerySet so that django-filter can build it: `all()` and `filter()` with
    `<field>__icontains` lookups for the API's filters and `<field>__exact` for the dashboard's
    are all a FilterSet calls. Immutable, hashable, cacheable.
    """

    full_name: str = ""
    email: str = ""
    phone_number: str = ""
    country: str = ""
    created_from: date | None = None
    created_to: date | None = None
    email_domain: str = ""
    quality: str = ""  # one of contacts.contact.quality.QUALITY_FILTERS

    model = None  # django-filter reads it; there is no model behind contacts.

    def all(self) -> "ContactQuery":
        return self

    def filter(self, **lookups: object) -> "ContactQuery":
        values: dict[str, object] = {}
        for lookup, value in lookups.items():
            name, _, expr = lookup.partition("__")
            if not (
                (name in FILTER_FIELDS and expr == "icontains")
                or (name in POST_FILTER_FIELDS and expr == "exact")
            ):
                raise TypeError(f"Contactship cannot filter by {lookup!r}")
            values[name] = value
        return replace(self, **values)

    def upstream_params(self) -> dict[str, str]:
        """The API's own non-empty filters, ready to send upstream."""
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name)}

    def params(self) -> dict[str, str]:
        """Every non-empty filter as it appears in a URL (dates as YYYY-MM-DD)."""
        params = self.upstream_params()
        for name in POST_FILTER_FIELDS:
            value = getattr(self, name)
            if value:
                params[name] = value.isoformat() if isinstance(value, date) else value
        return params

    @property
    def post_filtered(self) -> bool:
        """Whether the dashboard filters the contacts itself, which costs a scan."""
        return any(getattr(self, name) for name in POST_FILTER_FIELDS)

    def matches(self, contact: Contact, default_region: str = "") -> bool:
        """Whether `contact` passes the dashboard's own filters (the API applied its own);
        `default_region` is the organisation's, for phone numbers written without `+`."""
        if self.country and not self._matches_country(contact.country):
            return False
        if self.email_domain and email_domain(contact.email) != self.email_domain.lower():
            return False
        if self.created_from or self.created_to:
            if contact.created_at is None:
                return False
            day = contact.created_at.astimezone(UTC).date()
            if self.created_from and day < self.created_from:
                return False
            if self.created_to and day > self.created_to:
                return False
        return not self.quality or quality_matches(
            self.quality,
            email=contact.email,
            phone_number=contact.phone_number,
            default_region=default_region,
        )

    def _matches_country(self, country: str) -> bool:
        """`-` matches a contact without a country; any other value every name of the country
        it means, in any language ("España" matches "Espanha", "Spain" and "ES"), or, for a
        name of no known country, that name compared folded."""
        if fold(self.country) == NO_COUNTRY:
            return not country.strip()
        return bool(country.strip()) and country_key(country) == country_key(self.country)

    def __bool__(self) -> bool:
        return bool(self.params())
