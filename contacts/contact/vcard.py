"""A contact as a vCard (RFC 6350, version 4.0), for "Save to my contacts".

UTF-8, CRLF line ends, lines folded at 75 octets without splitting a character, and `\\`, `,`,
`;` and line breaks escaped in text values (RFC 6350 3.2 and 3.4).
"""

from contacts.contact.display import plain_value
from contacts.contact.types import Contact

FOLD_AT = 75  # octets per line, the line end not counted


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


def contact_vcard(contact: Contact) -> str:
    """The vCard of `contact`: name, email, phone (a tel: URI), country, description, the
    additional data as notes, and its Contactship id as the UID."""
    name = contact.full_name or contact.email or contact.phone_number or contact.id
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{escape_text(name)}"]
    if contact.email:
        lines.append(f"EMAIL;TYPE=work:{escape_text(contact.email)}")
    if contact.phone_number:
        digits = "".join(c for c in contact.phone_number if c == "+" or c.isdigit())
        lines.append(f"TEL;VALUE=uri;TYPE=work,voice:tel:{digits}")
    if contact.country:
        lines.append(f"ADR;TYPE=work:;;;;;;{escape_text(contact.country)}")
    notes = [contact.description] if contact.description else []
    notes += [f"{item.field}: {plain_value(item)}" for item in contact.additional_data]
    if notes:
        lines.append(f"NOTE:{escape_text(chr(10).join(notes))}")
    if contact.id:
        lines.append(f"UID:{escape_text(contact.id)}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)
