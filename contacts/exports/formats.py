"""The export formats a view or the command can ask for, by name."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from contacts.exports.csv import csv_chunks


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    content_type: str
    chunks: Callable[..., Iterator[bytes]]


def _xlsx_chunks(*args, **kwargs) -> Iterator[bytes]:
    from contacts.exports.xlsx import (
        xlsx_chunks,  # openpyxl is only imported when someone asks for XLSX
    )

    return xlsx_chunks(*args, **kwargs)


FORMATS = {
    "csv": ExportFormat("csv", "csv", "text/csv; charset=utf-8", csv_chunks),
    "xlsx": ExportFormat(
        "xlsx",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _xlsx_chunks,
    ),
}
