"""The audit record of a download (an export or a bulk lookup): one event, written when it
starts ("started"), refreshed while it streams, completed, failed or cancelled when it ends.

A replica killed mid-download leaves the started event behind, shown as "interrupted" once it
has been silent long enough (`AuditEvent.shown_outcome`). Every record also writes one log line
when it ends. Neither ever holds a contact or a looked-up value: only counts.
"""

import logging
import time
from collections.abc import Callable, Iterator

from django.utils import timezone

from contacts import metrics
from contacts.exports.streaming import primed
from contacts.models import EXPORT_HEARTBEAT, AuditEvent

log = logging.getLogger(__name__)
Outcome = AuditEvent.Outcome


class DownloadRecord:
    """What one download did, audited.

    `subject` is what the download reads (a scan, a lookup's calls), closed when the stream
    ends; `tally(subject)` gives what the event counts when it is written (`rows`, and for a
    lookup `filters`: how many of each status); `line(subject)` the log line's own fields, as
    (a format string, its values).
    """

    def __init__(
        self,
        *,
        kind: str,
        user,
        username: str,
        organisation_id: str,
        fmt: str,
        source: str = "web",
        filters: dict | None = None,
        path: str = "",
        ip_address: str | None = None,
        tally: Callable[[object], dict],
        line: Callable[[object], tuple[str, tuple]],
    ) -> None:
        self.fields = {
            "kind": kind,
            "user": user if user is not None and user.is_authenticated else None,
            "username": username,
            "organisation_id": organisation_id,
            "source": source,
            "export_format": fmt,
            "filters": filters if filters is not None else {},
            "path": path[:300],
            "ip_address": ip_address,
        }
        self.tally = tally
        self.line = line
        self.subject: object = None
        self.size = 0
        self.started = time.monotonic()
        self.finished = False
        self.event_id: int | None = None
        self.heartbeat = self.started + EXPORT_HEARTBEAT.total_seconds()
        try:
            now = timezone.now()
            event = AuditEvent.objects.create(
                **self.fields, outcome=Outcome.STARTED, at=now, updated_at=now
            )
            self.event_id = event.pk
        except Exception:
            # The download itself must not fail because the audit could not be written.
            log.exception("audit event not written for a download's start")

    def _update(self, **fields) -> None:
        values = {
            "bytes": self.size,
            "duration_ms": round((time.monotonic() - self.started) * 1000),
            "updated_at": timezone.now(),
            **self.tally(self.subject),
            **fields,
        }
        if self.event_id is not None:
            AuditEvent.objects.filter(pk=self.event_id).update(**values)
        else:
            AuditEvent.objects.create(**{**self.fields, **values})

    def beat(self) -> None:
        """Refresh the event now and then while the download runs: a sign of life."""
        now = time.monotonic()
        if now < self.heartbeat:
            return
        self.heartbeat = now + EXPORT_HEARTBEAT.total_seconds()
        try:
            self._update()
        except Exception:
            log.exception("audit event of a running download not refreshed")

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        duration_ms = round((time.monotonic() - self.started) * 1000)
        error_name = type(error).__name__ if error else ""
        template, figures = self.line(self.subject)
        log.log(
            logging.INFO if outcome == Outcome.COMPLETED else logging.WARNING,
            "%s %s org=%s user=%s " + template + " bytes=%d ms=%d error=%s",
            self.fields["kind"],
            outcome,
            self.fields["organisation_id"],
            self.fields["username"],
            *figures,
            self.size,
            duration_ms,
            error_name or "-",
        )
        try:
            self._update(outcome=outcome, duration_ms=duration_ms, error=error_name)
        except Exception:
            # The download itself must not fail because the audit could not be written.
            log.exception("audit event not written for a download")
        self._count(outcome)

    def _count(self, outcome: str) -> None:
        """The download in the metrics: an export with its rows, or a bulk lookup."""
        if self.fields["kind"] == AuditEvent.Kind.EXPORT:
            rows = self.tally(self.subject).get("rows", 0)
            metrics.count_export(self.fields["export_format"], outcome, rows)
        elif self.fields["kind"] == AuditEvent.Kind.LOOKUP:
            metrics.count_lookup(outcome)

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
    def stream(self, chunks: Iterator[bytes]) -> Iterator[bytes | None]:
        """`chunks`, counted; the event completed however the stream ends, and the subject
        closed with it, so that its threads end too."""
        try:
            yield  # primed: a download dropped before its first byte still ends what it reads
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
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            if self.subject is not None:
                self.subject.close()
