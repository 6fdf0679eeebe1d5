"""`manage.py export_contacts ORG_ID --output FILE`: the export, from a terminal, with progress;
the file appears under its name only when complete."""

import getpass
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.contact.columns import CONTACT_COLUMNS, InvalidColumns, parse_columns
from contacts.errors import command_error
from contacts.exports.formats import EXPORTS
from contacts.exports.layout import Progress
from contacts.exports.service import contact_export
from contacts.management.filters import add_filter_arguments, query_from_options
from contacts.upstream.errors import DashboardError
from contacts.upstream.organisations import organisation_get


class Command(BaseCommand):
    help = (
        "Export every contact of an organisation that matches the filters, as CSV or XLSX. "
        "The file appears under its name only when the export is complete."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_id")
        add_filter_arguments(parser)
        parser.add_argument("--format", choices=sorted(EXPORTS), default="csv")
        parser.add_argument("--output", required=True, help="the file to write")
        parser.add_argument(
            "--columns",
            default="",
            help="the columns, in order, comma-separated: contact fields by their column names "
            f"({', '.join(CONTACT_COLUMNS)}) and additional-data fields as data.<field name>; "
            "default: every field and the additional data",
        )
        parser.add_argument(
            "--no-bom", action="store_true", help="CSV without a byte order mark (plain UTF-8)"
        )

    def handle(self, *args, org_id: str, output: str, **options) -> None:
        organisation = organisation_get(org_id)
        if organisation is None:
            raise CommandError(f"No organisation {org_id!r} in CONTACTSHIP_ORGANISATIONS.")
        query = query_from_options(options)
        try:
            columns = parse_columns(options["columns"])
        except InvalidColumns as exc:
            raise CommandError(
                f"--columns: {exc}. Valid names: {', '.join(CONTACT_COLUMNS)}, "
                "and data.<field name> for an additional-data field."
            ) from None

        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {str(target.parent)!r} does not exist.")
        # Written beside the target and renamed when complete: a failed export leaves no file
        # under the requested name, and never a half-written one.
        handle, partial = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        show_progress = sys.stderr.isatty()
        try:
            with os.fdopen(handle, "wb") as out:
                chunks, progress = contact_export(
                    user=None,
                    username=f"command:{getpass.getuser()}",
                    organisation=organisation,
                    query=query,
                    fmt=EXPORTS[options["format"]],
                    source="command",
                    bom=not options["no_bom"],
                    columns=columns,
                )
                for chunk in chunks:
                    out.write(chunk)
                    if show_progress:
                        self._progress(progress)
            os.replace(partial, target)
        except DashboardError as exc:
            raise command_error(exc, "Export") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        if show_progress:
            sys.stderr.write("\n")
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {progress.rows} contacts to {target} ({options['format']}).")
        )

    @staticmethod
    def _progress(progress: Progress) -> None:
        sys.stderr.write(f"\r{progress.rows:>9,} contacts  {progress.pages:>6,} pages")
        sys.stderr.flush()
