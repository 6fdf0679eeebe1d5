"""A contact as a vCard (RFC 6350, version 4.0), for "Save to my contacts".

UTF-8, CRLF line ends, lines folded at 75 octets without splitting a character, and `\\`, `,`,
`;` and line breaks escaped in text values (RFC 6350 3.2 and 3.4).
"""

import uuid

from contacts.contact.display import plain_value
from contacts.contact.types import Contact

FOLD_AT = 75  # octets per line, the line end not counted
# Additional-data types that hold a postal address: they go into ADR, not NOTE. `location` is
# the type the API documents for one; field names ("dirección", "address"...) are not guessed at.
ADDRESS_TYPES = frozenset({"location", "address"})
# The namespace of the name-based UUIDs (RFC 9562, version 5) that stand for Contactship ids that
# are not UUIDs themselves: one id, one UID, in every card the dashboard writes.
CONTACTSHIP_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "https://api.contactship.ai/v1/contacts")


def escape_text(value: str) -> str:
    """A text value: backslash, comma, semicolon and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """A content line folded into lines of at most 75 octets, each continuation starting with
    a space; a multi-byte character is never split."""
    pieces = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        limit = FOLD_AT if not pieces else FOLD_AT - 1  # a continuation's space counts
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def contact_uid(contact_id: str) -> str:
    """The UID (RFC 6350 6.7.6, a URI): `urn:uuid:<id>` for a UUID id, as the API documents them;
    for any other id the name-based UUID of it (`CONTACTSHIP_IDS`), so that saving the same
    contact again updates the card instead of adding one."""
    try:
        return f"urn:uuid:{uuid.UUID(contact_id)}"
    except ValueError:
        return f"urn:uuid:{uuid.uuid5(CONTACTSHIP_IDS, contact_id)}"


def _addresses(contact: Contact) -> list[str]:
    """ADR lines: each address of the additional data as the street (the API gives one text,
    not its parts), with the contact's country; the country alone when there is no address."""
    country = escape_text(contact.country)
    streets = [
        escape_text(plain_value(item))
        for item in contact.additional_data
        if item.type in ADDRESS_TYPES and plain_value(item).strip()
    ]
    if not streets:
        return [f"ADR;TYPE=work:;;;;;;{country}"] if contact.country else []
    return [
        f"ADR;TYPE=work{';PREF=1' if i == 0 and len(streets) > 1 else ''}:;;{street};;;;{country}"
        for i, street in enumerate(streets)
    ]


def contact_vcard(contact: Contact) -> str:
    """The vCard of `contact`: name, email, phone (a tel: URI), addresses and country, the
    description and the other additional data as notes, and its Contactship id as the UID."""
    name = contact.full_name or contact.email or contact.phone_number or contact.id
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{escape_text(name)}"]
    if contact.email:
        lines.append(f"EMAIL;TYPE=work:{escape_text(contact.email)}")
    if contact.phone_number:
        digits = "".join(c for c in contact.phone_number if c == "+" or c.isdigit())
        lines.append(f"TEL;VALUE=uri;TYPE=work,voice:tel:{digits}")
    lines += _addresses(contact)
    notes = [contact.description] if contact.description else []
    notes += [
        f"{item.field}: {plain_value(item)}"
        for item in contact.additional_data
        if item.type not in ADDRESS_TYPES
    ]
    if notes:
        lines.append(f"NOTE:{escape_text(chr(10).join(notes))}")
    if contact.id:
        lines.append(f"UID:{contact_uid(contact.id)}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)
