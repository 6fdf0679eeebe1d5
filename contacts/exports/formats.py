"""The registry of download formats: every format a search export or a bulk lookup offers.

A format is one writer module plus one line in `FORMATS`. The line names the format (its URL's
extension), its content type, the words of its button, and its writers by dotted path, imported
only when someone asks for that format (openpyxl is loaded for XLSX only):

- `contacts`: a search export's writer, `writer(first_page, pages, *, progress, columns, ...)`;
- `lookup`: a bulk lookup's writer, `writer(rows, *, progress, ...)`;
- `duplicates`: a duplicates download's writer, `writer(groups, *, progress, columns, ...)`.

`options` names the further keyword arguments its writers take (`bom` for CSV); the download
offers them all and each format gets only its own. `built_first`: the format's bytes only come
once the file is complete, so a failure until then can still be answered with an error page.
A format that is not a `file` is a stream for the page's script (asked for by its content type),
with no button and no address of its own.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ExportFormat:
    name: str
    content_type: str
    label: str = ""  # the button ("Download CSV")
    description: str = ""  # what the page says is being prepared ("CSV file")
    contacts: str = ""  # dotted path of the search export's writer; "" when not offered
    lookup: str = ""  # dotted path of the bulk lookup's writer; "" when not offered
    duplicates: str = ""  # dotted path of the duplicates download's writer
    options: tuple[str, ...] = ()
    built_first: bool = False
    primary: bool = False  # the search page's main button
    file: bool = True

    @property
    def extension(self) -> str:
        return self.name

    @cached_property
    def contacts_writer(self) -> Callable[..., Iterator[bytes]]:
        return import_string(self.contacts)

    @cached_property
    def lookup_writer(self) -> Callable[..., Iterator[bytes]]:
        return import_string(self.lookup)

    @cached_property
    def duplicates_writer(self) -> Callable[..., Iterator[bytes]]:
        return import_string(self.duplicates)

    def own(self, options: dict) -> dict:
        """Of the optional arguments offered, those this format's writers take."""
        return {name: value for name, value in options.items() if name in self.options}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMATS = (
    ExportFormat(
        "csv",
        "text/csv; charset=utf-8",
        _("Download CSV"),
        _("CSV file"),
        contacts="contacts.exports.csv.csv_chunks",
        lookup="contacts.exports.csv.lookup_csv_chunks",
        duplicates="contacts.exports.csv.duplicates_csv_chunks",
        options=("bom",),
    ),
    ExportFormat(
        "xlsx",
        XLSX_TYPE,
        _("Download Excel"),
        _("Excel file"),
        contacts="contacts.exports.xlsx.xlsx_chunks",
        lookup="contacts.exports.xlsx.lookup_xlsx_chunks",
        duplicates="contacts.exports.xlsx.duplicates_xlsx_chunks",
        built_first=True,
        # Excel is the main download: it opens right in every spreadsheet program.
        primary=True,
    ),
    ExportFormat(
        "ndjson",
        "application/x-ndjson",
        lookup="contacts.exports.ndjson.lookup_ndjson_chunks",
        options=("contact_url",),
        file=False,
    ),
)
FORMATS: dict[str, ExportFormat] = {f.name: f for f in _FORMATS}

# What each place offers, in the order its buttons show.
EXPORTS = {
    f.name: f for f in sorted(_FORMATS, key=lambda f: not f.primary) if f.contacts and f.file
}
DUPLICATE_FILES = {f.name: f for f in EXPORTS.values() if f.duplicates}
LOOKUP_FILES = {f.name: f for f in _FORMATS if f.lookup and f.file}
LOOKUP_STREAMS = {f.name: f for f in _FORMATS if f.lookup and not f.file}


def streamed_lookup(accept: str) -> ExportFormat | None:
    """The stream format the page's script asks for in its `Accept` header, if any."""
    for fmt in LOOKUP_STREAMS.values():
        if fmt.content_type in accept:
            return fmt
    return None


def converter(formats: dict[str, ExportFormat]) -> type:
    """A URL path converter matching exactly the names in `formats` (any other is a 404)."""
    names = "|".join(sorted(formats))

    class FormatConverter:
        regex = f"(?:{names})"

        def to_python(self, value: str) -> ExportFormat:
            return formats[value]

        def to_url(self, value: "ExportFormat | str") -> str:
            name = value if isinstance(value, str) else value.name
            if name not in formats:
                raise ValueError(name)
            return name

    return FormatConverter
