"""The summary of a search: how many contacts match, by country, by month, by email domain, how
complete they are, which additional-data fields they carry, and their data quality
(`contacts.insights.quality`, counted in the same scan).

Counted over a scan of every matching page (`contacts.upstream.scan`, with its concurrency and
cancellation), keeping counters only, never contacts: memory grows with the distinct values, not
with the contacts. The web page, its JSON twin and `summarise_contacts` all run `SummaryRun`.

A finished summary is kept in the shared cache for CONTACTSHIP_CACHE_TTL seconds under a key made
of the organisation and the filters (hashed), so one organisation's summary is never another's.
"""

import contextvars
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from contacts import metrics
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact, email_domain, iso_utc
from contacts.insights.countries import CountryFacet
from contacts.insights.quality import QualityCounter
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import Scan, ScanProgress, contact_scan

log = logging.getLogger(__name__)

# v2: countries grouped, with their variants; v3: with the quality part
CACHE_PREFIX = "summary:v3"
TOP_DOMAINS = 50
# Fields whose presence the summary reports as a share of the contacts.
COMPLETENESS_FIELDS = ("email", "phone_number", "country", "description")

Summary = dict[str, Any]  # the JSON shape of summary.json

# The threads that ask for a summary's first page when the page waits for it a short while only
# (`SummaryRun.start(within=...)`); a first page that comes later ends its run there.
_first_pages = ThreadPoolExecutor(max_workers=8, thread_name_prefix="summary-first-page")


class SummaryCounter:
    """Counters over contacts, fed a page at a time; `default_region` is the organisation's,
    for the quality part's phone numbers."""

    def __init__(self, default_region: str = "") -> None:
        self.count = 0
        # By the country a name means, in any language, as the `country` filter matches.
        self.countries = CountryFacet()
        self.months: Counter[str | None] = Counter()
        self.domains: Counter[str] = Counter()
        self.present: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.quality = QualityCounter(default_region)

    def add(self, contacts: list[Contact]) -> None:
        self.count += len(contacts)
        self.quality.add(contacts)
        for contact in contacts:
            self.countries.add(contact.country)
            created = contact.created_at
            self.months[created.astimezone(UTC).strftime("%Y-%m") if created else None] += 1
            domain = email_domain(contact.email)
            if domain:
                self.domains[domain] += 1
            for name in COMPLETENESS_FIELDS:
                if getattr(contact, name).strip():
                    self.present[name] += 1
            if contact.additional_data:
                # A field repeated within one contact counts once: "how many contacts have it".
                self.fields.update({f.field for f in contact.additional_data})

    def result(
        self, *, organisation: Organisation, query: ContactQuery, complete: bool, scanned: int
    ) -> Summary:
        months = sorted(m for m in self.months if m is not None)
        created_by_month = [{"month": m, "count": self.months[m]} for m in months]
        if None in self.months:
            created_by_month.append({"month": None, "count": self.months[None]})
        domains = sorted(self.domains.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DOMAINS]
        fields = sorted(self.fields.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "organisation": organisation.id,
            "filters": query.params(),
            "count": self.count,
            "complete": complete,
            "scanned": scanned,
            "countries": self.countries.rows(),
            "created_by_month": created_by_month,
            "email_domains": [{"value": d, "count": n} for d, n in domains],
            "email_domains_distinct": len(self.domains),
            "completeness": {name: self.present[name] for name in COMPLETENESS_FIELDS},
            "fields": [{"field": f, "count": n} for f, n in fields],
            "quality": self.quality.result(),
            "computed_at": iso_utc(datetime.now(UTC).replace(microsecond=0)),
        }


def summary_cache_key(organisation_id: str, query: ContactQuery) -> str:
    # Hashed: filters may hold any character. The organisation is part of the material, so a
    # summary is only ever found again for the organisation it was counted for.
    material = json.dumps([organisation_id, sorted(query.params().items())], ensure_ascii=False)
    return f"{CACHE_PREFIX}:{hashlib.sha256(material.encode()).hexdigest()}"


def summary_cached(*, organisation: Organisation, query: ContactQuery) -> Summary | None:
    """The summary kept for this organisation and search, if any (a cache that is down is none)."""
    if settings.CONTACTSHIP_CACHE_TTL <= 0:
        return None
    try:
        found = cache.get(summary_cache_key(organisation.id, query))
    except Exception:
        log.warning("cache unavailable, counting again", exc_info=True)
        return None
    if not isinstance(found, dict) or found.get("organisation") != organisation.id:
        return None
    metrics.count_summary("cached")
    return found


def _summary_store(summary: Summary, query: ContactQuery) -> None:
    ttl = settings.CONTACTSHIP_CACHE_TTL
    if ttl <= 0:
        return
    try:
        cache.set(summary_cache_key(summary["organisation"], query), summary, timeout=ttl)
    except Exception:
        log.warning("cache unavailable, summary not kept", exc_info=True)


class SummaryRun:
    """One summary being counted. `start()` asks for the first page (an upstream failure raises
    there, before anything is shown); iterate `steps()` for the progress after each page; then
    `result()`. `close()` (or leaving `steps` early) stops the scan."""

    def __init__(self, *, organisation: Organisation, query: ContactQuery) -> None:
        self.organisation = organisation
        self.query = query
        self.counter = SummaryCounter(organisation.default_region)
        self._scan: Scan | None = None
        self._first: list[Contact] | None = None
        self._ended = False  # counted in the metrics

    @property
    def progress(self) -> ScanProgress:
        return self._scan.progress if self._scan else ScanProgress()

    def start(self, within: float | None = None) -> bool:
        """Ask for the first page; an upstream failure raises here. `within`: the seconds to
        wait for it; False when it has not come by then, and the run is given up (closed when
        the page comes, and not counted: the request that asks again counts its own)."""
        if within is None:
            self._first_page()
            return True
        future = _first_pages.submit(contextvars.copy_context().run, self._first_page)
        try:
            future.result(timeout=within)
        except TimeoutError:
            self._ended = True
            future.add_done_callback(lambda _: self.close())
            return False
        return True

    def _first_page(self) -> None:
        self._scan = contact_scan(
            organisation=self.organisation, query=self.query, stop_at_cap=True
        )
        try:
            self._first = next(self._scan, [])
        except BaseException:
            self._scan.close()
            self._end(metrics.FAILED)
            raise
        self.counter.add(self._first)

    def steps(self) -> Iterator[ScanProgress]:
        if self._scan is None:
            self.start()
        assert self._scan is not None
        try:
            yield self._scan.progress
            for page in self._scan:
                self.counter.add(page)
                yield self._scan.progress
        except GeneratorExit:
            self._end(metrics.CANCELLED)
            raise
        except Exception:
            self._end(metrics.FAILED)
            raise
        finally:
            self._scan.close()

    def close(self) -> None:
        """Stop the scan; a summary closed before its result was cancelled."""
        if self._scan is not None:
            self._scan.close()
        self._end(metrics.CANCELLED)

    def _end(self, outcome: str) -> None:
        if not self._ended:
            self._ended = True
            metrics.count_summary(outcome)

    def result(self) -> Summary:
        progress = self.progress
        summary = self.counter.result(
            organisation=self.organisation,
            query=self.query,
            complete=not progress.capped,
            scanned=progress.scanned,
        )
        log.info(
            "summary org=%s count=%d scanned=%d pages=%d complete=%s",
            self.organisation.id,
            summary["count"],
            progress.scanned,
            progress.pages,
            summary["complete"],
        )
        _summary_store(summary, self.query)
        self._end(metrics.COMPLETED)
        return summary


def contact_summary(
    *, organisation: Organisation, query: ContactQuery, refresh: bool = False
) -> Summary:
    """The whole summary at once: from the cache unless `refresh`, else counted now."""
    if not refresh:
        found = summary_cached(organisation=organisation, query=query)
        if found is not None:
            return found
    run = SummaryRun(organisation=organisation, query=query)
    for _ in run.steps():
        pass
    return run.result()
