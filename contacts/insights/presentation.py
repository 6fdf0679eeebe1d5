"""A summary as the summary page shows it: each count with the search narrowed to it, shares,
the chart of contacts created by month (gaps for long empty stretches), and the data quality."""

import calendar
from collections.abc import Callable
from datetime import date, datetime

from django.utils.translation import gettext as _

from contacts.contact.quality import INVALID_EMAIL, INVALID_PHONE, MISSING_EMAIL, MISSING_PHONE
from contacts.contact.query import ContactQuery
from contacts.contact.types import NO_COUNTRY
from contacts.insights.quality import DUPLICATE_EMAIL, DUPLICATE_PHONE, POSSIBLE_DUPLICATE_NAME
from contacts.insights.summary import COMPLETENESS_FIELDS, Summary

CHART_HEIGHT = 100
# Empty months between two months with contacts that the chart still shows one by one; a longer
# stretch is drawn as one gap.
MAX_EMPTY_RUN = 12
# The table of months lists those with contacts only; beyond this many it starts folded away, so
# that a short search's summary fits a screen (the chart above it shows them all).
MONTHS_OPEN = 12


def _month_range(query: ContactQuery, month: str) -> dict[str, str]:
    """The search narrowed to one month, within the dates it already had."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    last = date(year, number, calendar.monthrange(year, number)[1])
    if query.created_from and query.created_from > first:
        first = query.created_from
    if query.created_to and query.created_to < last:
        last = query.created_to
    return {"created_from": first.isoformat(), "created_to": last.isoformat()}


def _month_index(month: str) -> int:
    year, number = (int(p) for p in month.split("-"))
    return year * 12 + number - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _chart_months(dated: list[str]) -> list[str | None]:
    """The months the chart shows, oldest first: every month with contacts, the empty months
    between two of them when at most MAX_EMPTY_RUN apart, and `None` for a longer stretch (a
    gap), so contacts dated years apart make a few bars, not one for every month between."""
    shown: list[str | None] = []
    previous = None
    for month in sorted(dated):
        index = _month_index(month)
        if previous is not None:
            empty = index - previous - 1
            if empty > MAX_EMPTY_RUN:
                shown.append(None)
            else:
                shown.extend(_month_name(previous + 1 + n) for n in range(empty))
        shown.append(month)
        previous = index
    return shown


def _country_variants(row: dict) -> list[dict]:
    """The names a country row is written as, shown under it when there are several."""
    variants = row.get("variants", [])
    return variants if len(variants) > 1 else []


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _quality_context(summary: Summary, search_url: Callable[..., str]) -> dict:
    """The quality part: each missing or invalid figure with the search narrowed to its contacts
    (a name has no filter to narrow to), and the duplicate figures with the `by` of the
    duplicates page that lists them (the template links to it with the search's parameters)."""
    quality, count = summary["quality"], summary["count"]
    missing = quality["missing"]
    problems = [
        (_("No name"), missing["full_name"], None),
        (_("No email"), missing["email"], {"quality": MISSING_EMAIL}),
        (_("Email not valid"), quality["invalid_email"], {"quality": INVALID_EMAIL}),
        (_("No phone"), missing["phone_number"], {"quality": MISSING_PHONE}),
        (_("Phone not valid"), quality["invalid_phone"], {"quality": INVALID_PHONE}),
        (_("No country"), missing["country"], {"country": NO_COUNTRY}),
    ]
    duplicates = [
        (_("Same email"), "email", quality[DUPLICATE_EMAIL]),
        (_("Same phone"), "phone", quality[DUPLICATE_PHONE]),
        (_("Possibly the same name"), "name", quality[POSSIBLE_DUPLICATE_NAME]),
    ]
    return {
        "quality_problems": [
            {
                "label": label,
                "count": n,
                "share": _share(n, count),
                "url": search_url(**narrow) if narrow and n else "",
            }
            for label, n, narrow in problems
        ],
        "quality_duplicates": [
            {"label": label, "by": by, "groups": row["groups"], "contacts": row["contacts"]}
            for label, by, row in duplicates
        ],
    }


def summary_context(query: ContactQuery, summary: Summary, search_url: Callable[..., str]) -> dict:
    """What the template shows: every count with the search narrowed to it (`search_url(**narrowed)`
    gives the search page of the search narrowed so), and the chart."""
    count = summary["count"]
    countries = [
        {
            "value": row["value"],
            "count": row["count"],
            "share": _share(row["count"], count),
            # A group's link filters by its name, which matches every name of its country.
            "url": search_url(country=row["value"] or NO_COUNTRY),
            "variants": _country_variants(row),
        }
        for row in summary["countries"]
    ]
    by_month = {row["month"]: row["count"] for row in summary["created_by_month"]}
    months = _chart_months([m for m in by_month if m])
    peak = max((by_month.get(m, 0) for m in months if m), default=0)
    bars = []
    for index, month in enumerate(months):
        if month is None:
            bars.append({"gap": True, "x": str(index * 10 + 5)})
            continue
        n = by_month.get(month, 0)
        height = round(CHART_HEIGHT * n / peak, 2) if peak else 0
        bars.append(
            {
                "month": month,
                "count": n,
                # Strings: SVG wants "12.5" whatever the language's decimal separator.
                "x": str(index * 10 + 1),
                "y": str(round(CHART_HEIGHT - height, 2)),
                "height": str(height),
                "url": search_url(**_month_range(query, month)),
            }
        )
    dated_months = [bar for bar in bars if bar.get("count")]
    domains = [
        {**row, "url": search_url(email_domain=row["value"])} for row in summary["email_domains"]
    ]
    labels = {
        "email": _("Email"),
        "phone_number": _("Phone"),
        "country": _("Country"),
        "description": _("Description"),
    }
    completeness = [
        {
            "label": labels[name],
            "count": summary["completeness"].get(name, 0),
            "share": _share(summary["completeness"].get(name, 0), count),
        }
        for name in COMPLETENESS_FIELDS
    ]
    fields = [{**row, "share": _share(row["count"], count)} for row in summary["fields"]]
    computed_at = datetime.fromisoformat(summary["computed_at"].replace("Z", "+00:00"))
    return {
        "summary": summary,
        "count": count,
        "countries": countries,
        "bars": bars,
        "chart_width": str(len(months) * 10),
        "chart_height": CHART_HEIGHT,
        "peak": peak,
        "dated_months": dated_months,
        "months_open": len(dated_months) <= MONTHS_OPEN,
        "undated": by_month.get(None, 0),
        "domains": domains,
        "completeness": completeness,
        "fields": fields,
        **_quality_context(summary, search_url),
        "computed_at": computed_at,
        "search_url": search_url(),
    }
