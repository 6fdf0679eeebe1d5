"""The seeded contact data served by the demo Contactship API.

Every organisation's contacts are generated once per process and are identical on every run and
every machine: each organisation has its own seeded ``random.Random`` and Faker is seeded too.

Faker is only used to draw small pools of names, streets, cities and companies per locale; the
contacts are then assembled from those pools with the seeded ``Random``. Calling Faker once per
contact would take about ten seconds for the 60,000-contact organisation.

The contacts are deliberately untidy in the ways real CRM data is (null and missing fields,
repeated ``additional_data`` fields, values that start with ``=``/``+``/``-``/``@``, commas, quotes
and newlines inside values, names in non-Latin scripts), each at a few percent, so the dashboard
has to cope with all of it; ``contacts.demo.quality`` adds the duplicates, invalid and blank
values the data-quality summary counts.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from faker import Faker

from contacts.demo.quality import untidy

type Contact = dict[str, Any]
type IdentifierType = Literal["id", "phone_number", "email"]

IDENTIFIER_TYPES: tuple[IdentifierType, ...] = ("id", "phone_number", "email")

# Contacts of organisations that are not one of the demo organisations (any org id configured in
# the dashboard works against the demo server).
GENERATED_ORGANISATION_SIZE = 25


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    """One organisation of the demo API and the recipe for its contacts."""

    id: str
    name: str
    size: int
    seed: int
    # Faker locales the contacts are drawn from, with relative weights (same length).
    locales: tuple[str, ...]
    # ISO 3166 alpha-2 codes of the countries the contacts live in; each contact usually lives in
    # its locale's home country and sometimes in another of these.
    country_codes: tuple[str, ...]
    locale_weights: tuple[int, ...] = ()
    # The dashboard's `default_region` for the organisation (phone numbers written without +).
    default_region: str = ""

    def __post_init__(self) -> None:
        if self.locale_weights and len(self.locale_weights) != len(self.locales):
            raise ValueError("locale_weights must have one weight per locale")

    def setting(self, api_key: str) -> dict[str, str]:
        """The organisation's entry in the dashboard's CONTACTSHIP_ORGANISATIONS."""
        entry = {"name": self.name, "api_key": api_key}
        if self.default_region:
            entry["default_region"] = self.default_region
        return entry


DEMO_ORGANISATIONS: dict[str, DemoOrganisation] = {
    org.id: org
    for org in (
        DemoOrganisation(
            id="org-andes",
            name="Andes Distribuciones",
            size=60_000,
            seed=20_230_101,
            locales=("es_MX", "es_ES", "es_CO", "es_AR"),
            locale_weights=(40, 25, 20, 15),
            country_codes=("MX", "ES", "CO", "AR", "PE", "CL", "US"),
        ),
        DemoOrganisation(
            id="org-tejo",
            name="Tejo Comercial",
            size=2_345,
            seed=20_230_202,
            locales=("pt_BR", "pt_PT", "es_ES", "es_AR"),
            locale_weights=(60, 28, 6, 6),
            country_codes=("BR", "PT", "ES", "AR", "UY"),
            default_region="BR",
        ),
        DemoOrganisation(
            id="org-harbor",
            name="Harbor & Co",
            size=137,
            seed=20_230_303,
            locales=("en_US", "en_GB", "zh_CN", "ar_SA", "el_GR", "ru_RU"),
            locale_weights=(55, 30, 2, 2, 2, 2),
            country_codes=("US", "GB", "IE", "CA", "CN", "SA", "GR", "RU"),
        ),
    )
}


def organisation(org_id: str) -> DemoOrganisation:
    """The demo organisation ``org_id``, or a small English one generated for any other id."""
    if org_id in DEMO_ORGANISATIONS:
        return DEMO_ORGANISATIONS[org_id]
    return DemoOrganisation(
        id=org_id,
        name=org_id,
        size=GENERATED_ORGANISATION_SIZE,
        seed=_stable_seed(org_id),
        locales=("en_US",),
        country_codes=("US",),
    )


def contacts_for(org_id: str) -> Sequence[Contact]:
    """All contacts of ``org_id`` in the API's JSON shape, sorted by ``created_at`` then ``id``.

    The contacts are shared by every caller in the process: treat them as read-only.
    """
    return _dataset(org_id).contacts


def matches(
    org_id: str,
    *,
    full_name: str | None = None,
    email: str | None = None,
    phone_number: str | None = None,
) -> list[Contact]:
    """The contacts the API returns for these filters, in the API's order.

    Each non-empty filter is a case-insensitive partial match (``str.casefold``, accents are not
    stripped) and the filters are combined with AND. A null or missing field never matches.
    """
    if not (full_name or email or phone_number):
        return list(_dataset(org_id).contacts)
    contacts = _dataset(org_id).contacts
    hits = _hits(
        org_id,
        (full_name or "").casefold(),
        (email or "").casefold(),
        (phone_number or "").casefold(),
    )
    return [contacts[index] for index in hits]


@functools.lru_cache(maxsize=256)
def _hits(org_id: str, full_name: str, email: str, phone_number: str) -> tuple[int, ...]:
    """Indexes of the matching contacts. Cached, as a real API's index would make them cheap:
    paging through one search asks the same question once per page, and a scan of 60,000
    contacts per page would make the demo, not the dashboard, the bottleneck of a benchmark."""
    dataset = _dataset(org_id)
    filters = [
        (column, query)
        for column, query in (
            (dataset.names, full_name),
            (dataset.emails, email),
            (dataset.phones, phone_number),
        )
        if query
    ]
    (column, query), *rest = filters
    # One pass over the full column, then the (usually far fewer) hits for the other filters.
    hits = [index for index, value in enumerate(column) if query in value]
    for column, query in rest:
        hits = [index for index in hits if query in column[index]]
    return tuple(hits)


def find(org_id: str, identifier: str, identifier_type: IdentifierType = "id") -> Contact | None:
    """The contact whose ``identifier_type`` equals ``identifier`` (email case-insensitive)."""
    dataset = _dataset(org_id)
    if identifier_type == "id":
        return dataset.by_id.get(identifier)
    if identifier_type == "phone_number":
        return dataset.by_phone.get(identifier)
    if identifier_type == "email":
        return dataset.by_email.get(identifier.casefold())
    raise ValueError(f"identifier_type must be one of {', '.join(IDENTIFIER_TYPES)}")


def prepare(org_ids: Iterable[str]) -> float:
    """Generate (and cache) the datasets of ``org_ids`` now; returns the seconds it took."""
    started = time.perf_counter()
    for org_id in org_ids:
        _dataset(org_id)
    return time.perf_counter() - started


# --- The dataset and its search columns ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dataset:
    contacts: tuple[Contact, ...]
    # Casefolded search columns, parallel to ``contacts``; "" for a null or missing field so that a
    # plain ``query in value`` never matches it.
    names: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    by_id: dict[str, Contact]
    by_phone: dict[str, Contact]
    by_email: dict[str, Contact]


@functools.cache
def _dataset(org_id: str) -> _Dataset:
    contacts = _generate(organisation(org_id))
    names = tuple(_folded(contact.get("full_name")) for contact in contacts)
    emails = tuple(_folded(contact.get("email")) for contact in contacts)
    phones = tuple(_folded(contact["phone_number"]) for contact in contacts)
    by_email: dict[str, Contact] = {}
    for contact, folded in zip(contacts, emails, strict=True):
        if folded:
            by_email.setdefault(folded, contact)
    return _Dataset(
        contacts=contacts,
        names=names,
        emails=emails,
        phones=phones,
        by_id={contact["id"]: contact for contact in contacts},
        by_phone={contact["phone_number"]: contact for contact in contacts},
        by_email=by_email,
    )


def _folded(value: str | None) -> str:
    if not value:
        return ""
    folded = value.casefold()
    # Keep the original object when folding changes nothing: saves a string per contact.
    return value if folded == value else folded


def _stable_seed(text: str) -> int:
    # hash() is randomised per process; the seed has to be the same on every run.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


# --- Countries and locales -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Country:
    calling_code: str
    # Mobile numbers are this prefix and `mobile_digits` random digits: numbers `phonenumbers`
    # finds valid (the prefix of its example mobile number), so that only the numbers
    # contacts.demo.quality spoils count as not valid.
    mobile_prefix: str
    mobile_digits: int
    domain: str  # top-level domain used for company websites and emails
    names: dict[str, str]  # language -> the country's name in that language


_COUNTRIES: dict[str, _Country] = {
    "MX": _Country("52", "222", 7, "com.mx", {"es": "México", "pt": "México", "en": "Mexico"}),
    "ES": _Country("34", "61", 7, "es", {"es": "España", "pt": "Espanha", "en": "Spain"}),
    "CO": _Country(
        "57", "321", 7, "com.co", {"es": "Colombia", "pt": "Colômbia", "en": "Colombia"}
    ),
    "AR": _Country(
        "54", "9112", 7, "com.ar", {"es": "Argentina", "pt": "Argentina", "en": "Argentina"}
    ),
    "PE": _Country("51", "91", 7, "pe", {"es": "Perú", "pt": "Peru", "en": "Peru"}),
    "CL": _Country("56", "22", 7, "cl", {"es": "Chile", "pt": "Chile", "en": "Chile"}),
    "UY": _Country("598", "94", 6, "com.uy", {"es": "Uruguay", "pt": "Uruguai", "en": "Uruguay"}),
    "US": _Country(
        "1",
        "2015",
        6,
        "com",
        {"es": "Estados Unidos", "pt": "Estados Unidos", "en": "United States"},
    ),
    "BR": _Country("55", "1196", 7, "com.br", {"es": "Brasil", "pt": "Brasil", "en": "Brazil"}),
    "PT": _Country("351", "91", 7, "pt", {"es": "Portugal", "pt": "Portugal", "en": "Portugal"}),
    "GB": _Country(
        "44", "740", 7, "co.uk", {"es": "Reino Unido", "pt": "Reino Unido", "en": "United Kingdom"}
    ),
    "IE": _Country("353", "85", 7, "ie", {"es": "Irlanda", "pt": "Irlanda", "en": "Ireland"}),
    "CA": _Country("1", "5062", 6, "ca", {"es": "Canadá", "pt": "Canadá", "en": "Canada"}),
    "CN": _Country("86", "1312", 7, "cn", {"es": "China", "pt": "China", "en": "China"}),
    "SA": _Country(
        "966", "51", 7, "sa", {"es": "Arabia Saudita", "pt": "Arábia Saudita", "en": "Saudi Arabia"}
    ),
    "GR": _Country("30", "691", 7, "gr", {"es": "Grecia", "pt": "Grécia", "en": "Greece"}),
    "RU": _Country("7", "912", 7, "ru", {"es": "Rusia", "pt": "Rússia", "en": "Russia"}),
}


def country_names() -> dict[str, str]:
    """Every country name the demo writes, with the code of the country it means ("Espanha":
    "ES"): what tests count the dashboard's country groups against, without its own index."""
    return {name: code for code, country in _COUNTRIES.items() for name in country.names.values()}


@dataclass(frozen=True, slots=True)
class _LocaleInfo:
    country: str  # home country code
    language: str  # language of descriptions, notes, field names and country names
    # Names in a non-Latin script are drawn whole from Faker (their order and spacing differ) and
    # their email addresses use Faker's romanised user names.
    native_script: bool = False


_LOCALES: dict[str, _LocaleInfo] = {
    "es_MX": _LocaleInfo("MX", "es"),
    "es_ES": _LocaleInfo("ES", "es"),
    "es_CO": _LocaleInfo("CO", "es"),
    "es_AR": _LocaleInfo("AR", "es"),
    "pt_BR": _LocaleInfo("BR", "pt"),
    "pt_PT": _LocaleInfo("PT", "pt"),
    "en_US": _LocaleInfo("US", "en"),
    "en_GB": _LocaleInfo("GB", "en"),
    # The non-Latin-script contacts of an English-speaking organisation: the team writes notes and
    # country names in English.
    "zh_CN": _LocaleInfo("CN", "en", native_script=True),
    "ar_SA": _LocaleInfo("SA", "en", native_script=True),
    "el_GR": _LocaleInfo("GR", "en", native_script=True),
    "ru_RU": _LocaleInfo("RU", "en", native_script=True),
}


# --- Text in each language -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Language:
    fields: dict[str, str]  # additional_data type -> field name
    # First names containing "ana", mixed in so a search for "ana" finds many contacts everywhere.
    ana_names: tuple[str, ...]
    descriptions: tuple[str, ...]
    notes: tuple[str, ...]
    # Values a spreadsheet would run as a formula unless the export escapes them.
    formulas: tuple[str, ...]
    # Values with commas, double quotes and newlines, which a CSV export must quote.
    awkward: tuple[str, ...]


_LANGUAGES: dict[str, _Language] = {
    "es": _Language(
        fields={
            "location": "dirección",
            "text": "notas",
            "url": "sitio_web",
            "number": "puntuación",
            "boolean": "newsletter",
        },
        ana_names=(
            "Ana",
            "Ana María",
            "Ana Sofía",
            "Mariana",
            "Susana",
            "Anabel",
            "Diana",
            "Adriana",
            "Liliana",
            "Juliana",
            "Tatiana",
        ),
        descriptions=(
            "Lead de campaña LinkedIn",
            "Cliente potencial para servicio premium",
            "Contacto de la feria de {city}",
            "Referido por {name}",
            "Compra recurrente; paga a 30 días",
            "Trabaja en {company}",
            "Pidió cotización del plan anual",
            "Prefiere WhatsApp antes que correo",
            "Proveedor de {company}",
            "Llegó por el formulario web",
            "Distribuidor en {city}",
            "Cliente",
        ),
        notes=(
            "Cliente potencial para servicio premium",
            "Llamar después de las 17:00",
            "No contactar en agosto",
            "Envió los documentos por correo",
            "Decide las compras en {company}",
            "Habla también inglés",
            "Quiere una demo la próxima semana",
            "Conoció la marca en {city}",
            "Pagos siempre puntuales",
            "Pidió factura electrónica",
        ),
        formulas=(
            "- llamar el lunes",
            "=SUM(A1:A3)",
            "+ seguimiento en marzo",
            "@equipo ventas revisar",
            '=HYPERLINK("https://ejemplo.com";"ver")',
            "-10% de descuento acordado",
        ),
        awkward=(
            'Dijo: "llámame el martes", sin falta',
            "Dirección de envío:\n{street}\n{city}",
            'Cliente "VIP", paga al contado, pide factura',
            "Pendiente:\n1) enviar propuesta\n2) agendar demo",
        ),
    ),
    "pt": _Language(
        fields={
            "location": "endereço",
            "text": "notas",
            "url": "site",
            "number": "pontuação",
            "boolean": "newsletter",
        },
        ana_names=(
            "Ana",
            "Ana Paula",
            "Ana Clara",
            "Ana Júlia",
            "Mariana",
            "Juliana",
            "Luana",
            "Adriana",
            "Fabiana",
            "Luciana",
            "Susana",
            "Diana",
        ),
        descriptions=(
            "Lead da campanha do LinkedIn",
            "Cliente potencial para o plano premium",
            "Contato da feira de {city}",
            "Indicado por {name}",
            "Compra todo mês, paga com boleto",
            "Trabalha na {company}",
            "Pediu orçamento do plano anual",
            "Prefere WhatsApp a e-mail",
            "Fornecedor da {company}",
            "Veio pelo formulário do site",
            "Revendedor em {city}",
            "Cliente",
        ),
        notes=(
            "Cliente potencial para o plano premium",
            "Ligar depois das 17h",
            "Não contatar em janeiro",
            "Enviou os documentos por e-mail",
            "Decide as compras na {company}",
            "Fala espanhol também",
            "Quer uma demonstração na semana que vem",
            "Conheceu a marca em {city}",
            "Sempre paga em dia",
            "Pediu nota fiscal eletrônica",
        ),
        formulas=(
            "- ligar na segunda",
            "=SOMA(A1:A3)",
            "+ retorno em março",
            "@time comercial verificar",
            '=HYPERLINK("https://exemplo.com.br";"ver")',
            "-10% de desconto combinado",
        ),
        awkward=(
            'Disse: "me liga na terça", sem falta',
            "Endereço de entrega:\n{street}\n{city}",
            'Cliente "VIP", paga à vista, pede nota fiscal',
            "Pendências:\n1) enviar proposta\n2) marcar demonstração",
        ),
    ),
    "en": _Language(
        fields={
            "location": "address",
            "text": "notes",
            "url": "website",
            "number": "score",
            "boolean": "newsletter",
        },
        ana_names=(
            "Ana",
            "Diana",
            "Dana",
            "Ariana",
            "Briana",
            "Juliana",
            "Anabel",
            "Anastasia",
            "Adriana",
            "Tatiana",
            "Mariana",
        ),
        descriptions=(
            "Lead from LinkedIn campaign",
            "Potential customer for premium service",
            "Met at the {city} trade fair",
            "Referred by {name}",
            "Repeat buyer, pays on 30-day terms",
            "Works at {company}",
            "Asked for a quote on the annual plan",
            "Prefers phone calls to email",
            "Supplier contact at {company}",
            "Came in through the website form",
            "Reseller in {city}",
            "Customer",
        ),
        notes=(
            "Potential customer for premium service",
            "Call after 5 pm",
            "Do not contact in August",
            "Sent the documents by email",
            "Makes the buying decisions at {company}",
            "Also speaks Spanish",
            "Wants a demo next week",
            "Heard about us in {city}",
            "Always pays on time",
            "Needs a VAT invoice",
        ),
        formulas=(
            "- call on Monday",
            "=SUM(A1:A3)",
            "+ follow up in March",
            "@sales team please check",
            '=HYPERLINK("https://example.com","open")',
            "-10% discount agreed",
        ),
        awkward=(
            'Said: "call me Tuesday", no later',
            "Shipping address:\n{street}\n{city}",
            'Customer "VIP", pays upfront, wants an invoice',
            "To do:\n1) send proposal\n2) book a demo",
        ),
    ),
}


# --- Pools drawn from Faker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    full_names: tuple[str, ...]  # whole names, for non-Latin scripts
    user_names: tuple[str, ...]  # ASCII email local parts, for non-Latin scripts
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    companies: tuple[str, ...]
    email_domains: tuple[str, ...]


def _draw(make: Callable[[], str], count: int) -> tuple[str, ...]:
    # Faker repeats itself; keep distinct values in draw order so the pool stays deterministic.
    return tuple(dict.fromkeys(make() for _ in range(count)))


@functools.cache
def _pools(locale: str) -> _Pools:
    # One pool per locale, seeded from the locale's name: an organisation's data does not depend on
    # which other organisations were generated first in this process.
    fake = Faker(locale)
    fake.seed_instance(_stable_seed(locale))
    native = _LOCALES[locale].native_script
    return _Pools(
        first_names=_draw(fake.first_name, 300),
        last_names=_draw(fake.last_name, 300),
        full_names=_draw(fake.name, 80) if native else (),
        user_names=_draw(fake.user_name, 80) if native else (),
        streets=_draw(fake.street_address, 200),
        cities=_draw(fake.city, 100),
        companies=_draw(fake.company, 100),
        email_domains=_draw(fake.free_email_domain, 40),
    )


# --- Generation ----------------------------------------------------------------------------------

# Fraction of contacts with each deliberate oddity. Every organisation gets at least two of each
# (one for the rarest), so even the 25-contact generated organisations exercise them.
_FIELD_ODDITIES: dict[str, dict[str, float]] = {
    # field -> {oddity: rate}; the oddities of one field exclude each other.
    "email": {"null": 0.02, "missing": 0.01, "mixed_case": 0.02},
    "country": {"null": 0.02, "missing": 0.01},
    "description": {
        "null": 0.03,
        "missing": 0.015,
        "empty": 0.01,
        "formula": 0.02,
        "awkward": 0.02,
    },
    "full_name": {"null": 0.003, "upper": 0.005, "lower": 0.005},
}
_NOTE_ODDITIES: dict[str, float] = {"formula_note": 0.02, "awkward_note": 0.02, "two_notes": 0.03}
_BULK_IMPORT_RATE = 0.02  # contacts created in the same second by an import
_ANA_NAME_RATE = 0.08

_ADDITIONAL_DATA_COUNTS = (0, 1, 2, 3, 4)
_ADDITIONAL_DATA_WEIGHTS = (25, 30, 25, 13, 7)
_ADDITIONAL_DATA_TYPES = ("location", "text", "url", "number", "boolean")

# created_at spans a fixed range (not "now") so the data never changes.
_FIRST_CREATED = 1_546_300_800  # 2019-01-01T00:00:00Z
_LAST_CREATED = 1_751_241_599  # 2025-06-29T23:59:59Z


def _generate(org: DemoOrganisation) -> tuple[Contact, ...]:
    # The contacts live as long as the process: the cyclic garbage collector would only rescan
    # them again and again while they are being built (about a third of the time for 60,000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_contacts(org)
    finally:
        if collecting:
            gc.enable()


def _build_contacts(org: DemoOrganisation) -> tuple[Contact, ...]:
    rng = random.Random(org.seed)
    oddities = _assign_oddities(rng, org.size)
    imports = tuple(rng.randrange(_FIRST_CREATED, _LAST_CREATED) for _ in range(3))
    weights = org.locale_weights or (1,) * len(org.locales)
    locales = rng.choices(org.locales, weights=weights, k=org.size)
    builder = _ContactBuilder(rng, org, imports)
    no_oddities: frozenset[str] = frozenset()
    contacts = [
        builder.build(locale, oddities.get(index, no_oddities))
        for index, locale in enumerate(locales)
    ]
    contacts.sort(key=lambda contact: (contact["created_at"], contact["id"]))
    # With a generator of its own: the other contacts are the same with or without it.
    untidy(contacts, random.Random(f"quality:{org.seed}"), org.default_region)
    return tuple(contacts)


def _assign_oddities(rng: random.Random, size: int) -> dict[int, frozenset[str]]:
    """Which contacts (by generation index) get which oddities; most get none."""
    assigned: dict[int, set[str]] = {}

    def pick(rates: dict[str, float], prefix: str) -> None:
        counts = {
            name: max(1 if rate < 0.005 else 2, round(rate * size)) for name, rate in rates.items()
        }
        # One sample for the whole group keeps its oddities on different contacts.
        chosen = rng.sample(range(size), min(size, sum(counts.values())))
        start = 0
        for name, count in counts.items():
            for index in chosen[start : start + count]:
                assigned.setdefault(index, set()).add(prefix + name)
            start += count

    for field, rates in _FIELD_ODDITIES.items():
        pick(rates, f"{field}_")
    for name, rate in _NOTE_ODDITIES.items():
        pick({name: rate}, "")
    pick({"bulk_import": _BULK_IMPORT_RATE}, "")
    return {index: frozenset(names) for index, names in assigned.items()}


# The number of additional_data entries, as a lookup table indexed by a random percentage.
_ADDITIONAL_DATA_COUNT_TABLE = tuple(
    count
    for count, weight in zip(_ADDITIONAL_DATA_COUNTS, _ADDITIONAL_DATA_WEIGHTS, strict=True)
    for _ in range(weight)
)
assert len(_ADDITIONAL_DATA_COUNT_TABLE) == 100
_ADDITIONAL_DATA_ORDERS = tuple(itertools.permutations(_ADDITIONAL_DATA_TYPES))


class _ContactBuilder:
    """Assembles contacts for one organisation, keeping phone numbers and emails unique.

    Random choices go through ``pick``/``below`` (index from ``random()``) rather than
    ``Random.choice``/``randrange``: they are several times faster, which matters for 60,000
    contacts, and just as deterministic.
    """

    def __init__(self, rng: random.Random, org: DemoOrganisation, imports: tuple[int, ...]):
        self.rng = rng
        self.random = rng.random
        self.org = org
        self.imports = imports
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.spare = random.Random(f"phones:{org.seed}").random

    def pick[T](self, values: Sequence[T]) -> T:
        return values[int(self.random() * len(values))]

    def below(self, limit: int) -> int:
        """A random integer in [0, limit); limit is far below 2**53, so this is uniform enough."""
        return int(self.random() * limit)

    def build(self, locale: str, oddities: frozenset[str]) -> Contact:
        info = _LOCALES[locale]
        pools = _pools(locale)
        language = _LANGUAGES[info.language]
        country = _COUNTRIES[self._country_code(info)]

        full_name, local_part = self._name(pools, info, language)
        if "bulk_import" in oddities:
            created = self.pick(self.imports)
        else:
            created = _FIRST_CREATED + self.below(_LAST_CREATED - _FIRST_CREATED)

        contact: Contact = {
            "id": self._uuid(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
            "phone_number": self._phone(country),
            "full_name": full_name,
            "country": country.names[info.language],
            "email": self._email(local_part, pools, country, oddities),
            "description": self._description(pools, language, oddities),
            "additional_data": self._additional_data(pools, language, country, oddities),
            "organization_id": self.org.id,
        }
        if oddities:
            _apply_field_oddities(contact, oddities)
        return contact

    def _uuid(self) -> str:
        # A version 4 UUID from the seeded generator (uuid.uuid4 reads the OS's randomness).
        bits = self.rng.getrandbits(128)
        bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
        bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def _country_code(self, info: _LocaleInfo) -> str:
        codes = self.org.country_codes
        if info.country in codes and self.random() < 0.88:
            return info.country
        return self.pick(codes)

    def _name(self, pools: _Pools, info: _LocaleInfo, language: _Language) -> tuple[str, str]:
        """A full name and the ASCII email local part built from it."""
        if info.native_script:
            return self.pick(pools.full_names), self.pick(pools.user_names)
        if self.random() < _ANA_NAME_RATE:
            first = self.pick(language.ana_names)
        else:
            first = self.pick(pools.first_names)
        last = self.pick(pools.last_names)
        # Spanish speakers often use both surnames, Portuguese speakers a middle family name.
        if info.language != "en" and self.random() < 0.35:
            last = f"{last} {self.pick(pools.last_names)}"
        return f"{first} {last}", self._local_part(first, last)

    def _local_part(self, first: str, last: str) -> str:
        first_slug = _first_word_slug(first)
        last_slug = _last_word_slug(last)
        if not first_slug or not last_slug:
            return first_slug or last_slug or "contacto"
        pattern = self.below(6)
        if pattern == 0:
            return f"{first_slug}.{last_slug}"
        if pattern == 1:
            return f"{first_slug}{last_slug}"
        if pattern == 2:
            return f"{first_slug[0]}{last_slug}"
        if pattern == 3:
            return f"{first_slug}_{last_slug}"
        if pattern == 4:
            return f"{first_slug}.{last_slug}{1 + self.below(99)}"
        return f"{last_slug}.{first_slug}"

    def _email(self, local: str, pools: _Pools, country: _Country, oddities: frozenset[str]) -> str:
        company = _first_word_slug(self.pick(pools.companies))
        if company and self.random() < 0.25:
            domain = f"{company}.{country.domain}"
        else:
            domain = self.pick(pools.email_domains)
        email = f"{local}@{domain}"
        while email in self.emails:
            email = f"{local}{1 + self.below(9999)}@{domain}"
        self.emails.add(email)
        if "email_mixed_case" in oddities:
            # People type their address capitalised; lookups by email are case-insensitive.
            name, _, host = email.partition("@")
            email = ".".join(part.capitalize() for part in name.split(".")) + "@" + host.title()
        return email

    def _phone(self, country: _Country) -> str:
        # One draw of the contacts' generator each; a number taken already draws again from a
        # generator of its own, so that no other value moves when one number does.
        span = 10**country.mobile_digits
        digits = self.below(span)
        while True:
            phone = (
                f"+{country.calling_code}{country.mobile_prefix}{digits:0{country.mobile_digits}d}"
            )
            if phone not in self.phones:
                self.phones.add(phone)
                return phone
            digits = int(self.spare() * span)

    def _fill(self, template: str, pools: _Pools) -> str:
        if "{" not in template:
            return template
        # format_map asks only for the placeholders the template uses: one draw each.
        return template.format_map(_Placeholders(self, pools))

    def _description(self, pools: _Pools, language: _Language, oddities: frozenset[str]) -> str:
        if "description_empty" in oddities:
            return ""
        if "description_formula" in oddities:
            return self.pick(language.formulas)
        if "description_awkward" in oddities:
            return self._fill(self.pick(language.awkward), pools)
        return self._fill(self.pick(language.descriptions), pools)

    def _additional_data(
        self, pools: _Pools, language: _Language, country: _Country, oddities: frozenset[str]
    ) -> list[dict[str, Any]]:
        count = self.pick(_ADDITIONAL_DATA_COUNT_TABLE)
        entries = []
        if count:
            # The first `count` types of a random ordering: distinct types, in a random order.
            kinds = self.pick(_ADDITIONAL_DATA_ORDERS)[:count]
            entries = [self._random_entry(kind, pools, language, country) for kind in kinds]
        if not oddities:
            return entries
        note = language.fields["text"]
        if "formula_note" in oddities:
            entries.append(_entry("text", note, self.pick(language.formulas)))
        if "awkward_note" in oddities:
            entries.append(_entry("text", note, self._fill(self.pick(language.awkward), pools)))
        if "two_notes" in oddities:
            # The API allows the same field name twice in one contact.
            for _ in range(2):
                entries.append(_entry("text", note, self._fill(self.pick(language.notes), pools)))
        return entries

    def _random_entry(
        self, kind: str, pools: _Pools, language: _Language, country: _Country
    ) -> dict[str, Any]:
        value: Any
        if kind == "location":
            value = self.pick(pools.streets)
            if self.random() < 0.5:
                value = f"{value}, {self.pick(pools.cities)}"
        elif kind == "text":
            value = self._fill(self.pick(language.notes), pools)
        elif kind == "url":
            company = _first_word_slug(self.pick(pools.companies)) or "empresa"
            value = f"https://www.{company}.{country.domain}"
        elif kind == "number":
            # Scores are JSON numbers, sometimes integers and sometimes decimals.
            value = self.below(101) if self.random() < 0.6 else round(self.random() * 10, 1)
        else:
            value = self.random() < 0.5
        return _entry(kind, language.fields[kind], value)


class _Placeholders:
    """The values a text template can mention, drawn only when asked for."""

    def __init__(self, builder: _ContactBuilder, pools: _Pools) -> None:
        self.builder = builder
        self.pools = pools

    def __getitem__(self, key: str) -> str:
        pick, pools = self.builder.pick, self.pools
        if key == "name":
            return f"{pick(pools.first_names)} {pick(pools.last_names)}"
        return pick(
            {"city": pools.cities, "company": pools.companies, "street": pools.streets}[key]
        )


def _apply_field_oddities(contact: Contact, oddities: frozenset[str]) -> None:
    full_name = contact["full_name"]
    if "full_name_null" in oddities:
        contact["full_name"] = None
    elif "full_name_upper" in oddities:
        contact["full_name"] = full_name.upper()
    elif "full_name_lower" in oddities:
        contact["full_name"] = full_name.lower()
    for field in ("email", "country", "description"):
        if f"{field}_null" in oddities:
            contact[field] = None
        elif f"{field}_missing" in oddities:
            del contact[field]


def _entry(kind: str, field: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "field": field, "value": value}


@functools.cache
def _first_word_slug(text: str) -> str:
    # Cached: the texts come from small pools, and slugging is the slowest part of a contact.
    return _ascii_slug(text.split()[0]) if text.strip() else ""


@functools.cache
def _last_word_slug(text: str) -> str:
    return _ascii_slug(text.split()[-1]) if text.strip() else ""


def _ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, accents stripped ("Núñez" -> "nunez")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed.lower() if char.isascii() and char.isalnum())
