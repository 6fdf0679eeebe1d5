"""The demo contacts that exercise the dashboard's data-quality rules.

After an organisation's contacts are generated, a few of them (half a percent for each case, at
least two) are rewritten the way real CRM data goes wrong, with a generator of their own, so
that the rest of the data is the same as without them:

- an email typed again by someone else, differing only in case or in surrounding spaces;
- an email no mail system takes (no `@`, two of them, no dot in the domain, a space);
- an email or a phone number of spaces only, or empty (missing once trimmed);
- a phone number that is no number ("12345", "n/a");
- one valid number written twice: in E.164 and, in an organisation with a `default_region`, in
  the national form (without `+`), else in the international form with spaces;
- one name written twice: with and without its accents, and with its words in another order
  ("Pérez García, Ana").

Every contact keeps its id and its place in the API's order.
"""

import random
import unicodedata
from collections.abc import Callable
from itertools import islice

import phonenumbers

type Contact = dict

RATE = 0.005  # of the contacts, for each case
INVALID_EMAILS: tuple[Callable[[str, str], str], ...] = (
    lambda local, domain: f"{local} at {domain}",
    lambda local, domain: f"{local}@@{domain}",
    lambda local, domain: f"{local}@{domain.split('.')[0]}",
    lambda local, domain: f"{local} {local}@{domain}",
)
INVALID_PHONES = ("12345", "n/a", "+1 555", "000-0000", "0")
BLANKS = ("", "   ")


def untidy(contacts: list[Contact], rng: random.Random, default_region: str = "") -> None:
    """Rewrite a few of `contacts` (in place) as the module docstring says."""
    count = max(2, round(RATE * len(contacts)))
    cases: list[tuple[Callable[..., None], int]] = [
        (_same_email, 2),
        (_invalid_email, 1),
        (_blank_email, 1),
        (_invalid_phone, 1),
        (_blank_phone, 1),
        (_same_phone, 2),
        (_same_name_unaccented, 2),
        (_same_name_reordered, 2),
    ]
    needed = count * sum(size for _, size in cases)
    chosen = iter(rng.sample(range(len(contacts)), min(needed, len(contacts))))
    taken = {c.get("phone_number") for c in contacts}
    for number in range(count):
        for case, size in cases:
            picked = [contacts[i] for i in islice(chosen, size)]
            if len(picked) < size:
                return
            case(*picked, number=number, rng=rng, region=default_region, taken=taken)


def _same_email(first: Contact, second: Contact, *, number: int, **_) -> None:
    email = first.get("email")
    if not email:
        return  # a contact without one shares nothing
    second["email"] = email.upper() if number % 2 == 0 else f"  {email.title()} "


def _invalid_email(contact: Contact, *, number: int, **_) -> None:
    local, _at, domain = (contact.get("email") or "contacto@correo.com").partition("@")
    contact["email"] = INVALID_EMAILS[number % len(INVALID_EMAILS)](local, domain.lower())


def _blank_email(contact: Contact, *, number: int, **_) -> None:
    contact["email"] = BLANKS[number % len(BLANKS)]


def _invalid_phone(contact: Contact, *, number: int, **_) -> None:
    contact["phone_number"] = INVALID_PHONES[number % len(INVALID_PHONES)]


def _blank_phone(contact: Contact, *, number: int, **_) -> None:
    contact["phone_number"] = BLANKS[number % len(BLANKS)]


def _same_phone(
    first: Contact, second: Contact, *, rng: random.Random, region: str, taken: set, **_
) -> None:
    """One valid number for both: E.164 for the first, another writing of it for the second."""
    home = region or phonenumbers.region_code_for_country_code(
        phonenumbers.parse(first["phone_number"]).country_code
    )
    example = phonenumbers.example_number_for_type(home, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    while True:
        digits = national[:-4] + f"{rng.randrange(10_000):04d}"
        valid = phonenumbers.parse(f"+{example.country_code}{digits}")
        e164 = phonenumbers.format_number(valid, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(valid) and e164 not in taken:
            break
    taken.add(e164)
    first["phone_number"] = e164
    form = phonenumbers.PhoneNumberFormat.NATIONAL if region else None
    second["phone_number"] = phonenumbers.format_number(
        valid, form or phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def _same_name_unaccented(first: Contact, second: Contact, **_) -> None:
    name = first.get("full_name")
    if not name:
        return
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Without accents, or (a name that has none) in capitals, as a form typed in a hurry.
    second["full_name"] = plain if plain != name else name.upper()


def _same_name_reordered(first: Contact, second: Contact, **_) -> None:
    name = first.get("full_name")
    if not name or " " not in name.strip():
        return
    given, _, family = name.strip().partition(" ")
    second["full_name"] = f"{family}, {given}"
