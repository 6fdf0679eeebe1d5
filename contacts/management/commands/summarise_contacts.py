"""`manage.py summarise_contacts ORG_ID [filters] [--json]`: the summary of a search, from a
terminal, with progress on a terminal."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from contacts.errors import command_error
from contacts.insights.flight import SharedSummaryRun
from contacts.insights.quality import DUPLICATES
from contacts.insights.summary import TOP_DOMAINS, Summary
from contacts.management.filters import add_filter_arguments, query_from_options
from contacts.upstream.errors import DashboardError
from contacts.upstream.organisations import organisation_get
from contacts.upstream.scan import ScanProgress

TOP = 10  # rows of each facet in the text output; --json has every one


class Command(BaseCommand):
    help = (
        "Count the contacts of an organisation that match the filters: by country, month of "
        "creation, email domain, completeness, additional-data field and data quality."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_id")
        add_filter_arguments(parser)
        parser.add_argument("--json", action="store_true", help="the summary.json shape")

    def handle(self, *args, org_id: str, **options) -> None:
        organisation = organisation_get(org_id)
        if organisation is None:
            raise CommandError(f"No organisation {org_id!r} in CONTACTSHIP_ORGANISATIONS.")
        query = query_from_options(options)

        show_progress = sys.stderr.isatty()
        run = SharedSummaryRun(organisation=organisation, query=query)
        try:
            for progress in run.steps():
                if show_progress:
                    self._progress(progress)
        except DashboardError as exc:
            raise command_error(exc, "Summary") from None
        finally:
            run.close()
        if show_progress:
            sys.stderr.write("\n")
        summary = run.result()
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            self._text(summary)

    @staticmethod
    def _progress(progress: ScanProgress) -> None:
        counted, read, pages = progress.rows, progress.scanned, progress.pages
        sys.stderr.write(f"\r{counted:>9,} counted  {read:>9,} read  {pages:>6,} pages")
        sys.stderr.flush()

    def _text(self, summary: Summary) -> None:
        count = summary["count"]
        out = self.stdout.write
        out(f"{count:,} contacts match in {summary['organisation']}.")
        if not summary["complete"]:
            out(
                f"Incomplete: the counts cover only the first {summary['scanned']:,} contacts "
                "(CONTACTSHIP_MAX_EXPORT_PAGES)."
            )

        def table(title: str, rows: list[tuple[str, int]], total: int) -> None:
            out(f"\n{title} ({total:,}):")
            for label, n in rows[:TOP]:
                out(f"  {n:>9,}  {label}")
            if total > TOP:
                out(f"  … {total - TOP:,} more (--json lists them)")

        countries = [(_country_label(r), r["count"]) for r in summary["countries"]]
        table("Countries", countries, len(countries))
        months = [(r["month"] or "(no date)", r["count"]) for r in summary["created_by_month"]]
        table("Created, by month", months, len(months))
        domains = [(r["value"], r["count"]) for r in summary["email_domains"]]
        table(f"Email domains (top {TOP_DOMAINS})", domains, len(domains))
        out("\nComplete records:")
        for name, n in summary["completeness"].items():
            share = f"{100 * n / count:.0f}%" if count else "-"
            out(f"  {n:>9,}  {share:>4}  {name}")
        fields = [(r["field"], r["count"]) for r in summary["fields"]]
        table("Additional data fields", fields, len(fields))
        self._quality(summary["quality"])

    def _quality(self, quality: dict) -> None:
        out = self.stdout.write
        out("\nData quality:")
        for name, n in quality["missing"].items():
            out(f"  {n:>9,}  missing {name}")
        out(f"  {quality['invalid_email']:>9,}  invalid_email")
        out(f"  {quality['invalid_phone']:>9,}  invalid_phone")
        for name in DUPLICATES:
            groups, contacts = quality[name]["groups"], quality[name]["contacts"]
            out(f"  {contacts:>9,}  {name} (in {groups:,} groups)")


def _country_label(row: dict) -> str:
    """A country row's name, with the names it is written as when there are several:
    "España (España 136, Espanha 51)"."""
    if row["value"] is None:
        return "(no country)"
    variants = row.get("variants", [])
    if len(variants) < 2:
        return row["value"]
    written = ", ".join(f"{v['value']} {v['count']:,}" for v in variants)
    return f"{row['value']} ({written})"
