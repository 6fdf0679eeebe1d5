"""Exports as a service: the web view and the `export_contacts` command both call this."""

import logging
import time
from collections.abc import Iterator

from django.utils import timezone

from contacts.contact.columns import Columns
from contacts.contact.query import ContactQuery
from contacts.exports.formats import ExportFormat
from contacts.exports.layout import Progress
from contacts.exports.streaming import primed
from contacts.models import EXPORT_HEARTBEAT, AuditEvent
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import Scan, contact_scan

log = logging.getLogger(__name__)
Outcome = AuditEvent.Outcome


class _ExportRecord:
    """The audit event of one export: written when it starts ("started"), refreshed while it
    streams, completed when it ends. A replica killed mid-export leaves the started event behind,
    shown as "interrupted" once it has been silent long enough (AuditEvent.shown_outcome)."""

    def __init__(
        self,
        *,
        user,
        username: str,
        organisation: Organisation,
        query: ContactQuery,
        fmt: ExportFormat,
        source: str,
        path: str = "",
        ip_address: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.fields = {
            "kind": AuditEvent.Kind.EXPORT,
            "user": user if user is not None and user.is_authenticated else None,
            "username": username,
            "organisation_id": organisation.id,
            "source": source,
            "export_format": fmt.name,
            "filters": query.params(),
            "path": path[:300],
            "ip_address": ip_address,
        }
        self.progress = progress if progress is not None else Progress()
        self.size = 0
        self.started = time.monotonic()
        self.event_id: int | None = None
        self.heartbeat = self.started + EXPORT_HEARTBEAT.total_seconds()
        try:
            now = timezone.now()
            event = AuditEvent.objects.create(
                **self.fields, outcome=Outcome.STARTED, at=now, updated_at=now
            )
            self.event_id = event.pk
        except Exception:
            # The export itself must not fail because the audit could not be written.
            log.exception("audit event not written for an export's start")

    def _update(self, **fields) -> None:
        values = {
            "rows": self.progress.rows,
            "bytes": self.size,
            "duration_ms": round((time.monotonic() - self.started) * 1000),
            "updated_at": timezone.now(),
            **fields,
        }
        if self.event_id is not None:
            AuditEvent.objects.filter(pk=self.event_id).update(**values)
        else:
            AuditEvent.objects.create(**self.fields, **values)

    def beat(self) -> None:
        """Refresh the event now and then while the export streams: a sign of life."""
        now = time.monotonic()
        if now < self.heartbeat:
            return
        self.heartbeat = now + EXPORT_HEARTBEAT.total_seconds()
        try:
            self._update()
        except Exception:
            log.exception("audit event of a running export not refreshed")

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        duration_ms = round((time.monotonic() - self.started) * 1000)
        error_name = type(error).__name__ if error else ""
        log.log(
            logging.INFO if outcome == Outcome.COMPLETED else logging.WARNING,
            "export %s org=%s user=%s format=%s rows=%d pages=%d bytes=%d ms=%d error=%s",
            outcome,
            self.fields["organisation_id"],
            self.fields["username"],
            self.fields["export_format"],
            self.progress.rows,
            self.progress.pages,
            self.size,
            duration_ms,
            error_name or "-",
        )
        try:
            self._update(outcome=outcome, duration_ms=duration_ms, error=error_name)
        except Exception:
            # The export itself must not fail because the audit could not be written.
            log.exception("audit event not written for an export")

    def pages(self, pages: Iterator) -> Iterator:
        """The upstream's pages, beating on each: an XLSX sends no byte until its end."""
        try:
            for page in pages:
                self.beat()
                yield page
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    @primed
    def stream(self, chunks: Iterator[bytes], scan: Scan) -> Iterator[bytes]:
        try:
            yield  # primed: a download dropped before its first byte still ends the scan
            for chunk in chunks:
                self.size += len(chunk)
                self.beat()
                yield chunk
        except GeneratorExit:
            self.finish(Outcome.CANCELLED)
            raise
        except Exception as exc:
            self.finish(Outcome.FAILED, exc)
            raise
        else:
            self.finish(Outcome.COMPLETED)
        finally:
            chunks.close()
            scan.close()  # its threads end with the export, however it ended


def contact_export(
    *,
    user,
    username: str,
    organisation: Organisation,
    query: ContactQuery,
    fmt: ExportFormat,
    source: str,
    bom: bool = True,
    path: str = "",
    ip_address: str | None = None,
    progress: Progress | None = None,
    columns: Columns | None = None,
) -> tuple[Iterator[bytes], Progress]:
    """Start an export: the first page is fetched now, so that an upstream that is down or
    refuses the key raises here (and becomes an error page) instead of breaking a download.

    Returns the bytes to send, and the progress counters they update. Any later failure
    propagates out of the byte stream: the caller must then abort, never end the file cleanly.
    Every export leaves one audit event, written as it starts (with the request's `path` and
    the client's `ip_address`, for a web export) and completed, failed or cancelled as it ends.
    `progress`, if given, is the counters to update (the web view's record themselves for the
    page to show). `columns`: the chosen columns, in order; None for the default ones.
    """
    record = _ExportRecord(
        user=user,
        username=username,
        organisation=organisation,
        query=query,
        fmt=fmt,
        source=source,
        path=path,
        ip_address=ip_address,
        progress=progress,
    )
    scan = contact_scan(organisation=organisation, query=query)
    try:
        first_page: list = []
        for first_page in scan:
            # With the dashboard's own filters a page may hold no match; the columns are fixed
            # by the first page that holds some.
            if first_page or not query.post_filtered:
                break
    except Exception as exc:
        scan.close()
        record.finish(Outcome.FAILED, exc)
        raise
    options = {"bom": bom, "columns": columns} if fmt.name == "csv" else {"columns": columns}
    chunks = fmt.chunks(first_page, record.pages(scan), progress=record.progress, **options)
    return record.stream(chunks, scan), record.progress
