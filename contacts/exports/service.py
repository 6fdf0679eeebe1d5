"""Exports as a service: the web view and the `export_contacts` command both call this; the
duplicates download too."""

from collections.abc import Iterator

from contacts.contact.columns import Columns
from contacts.contact.query import ContactQuery
from contacts.exports.duplicates import BY_PARAM, DuplicatesRun
from contacts.exports.formats import ExportFormat
from contacts.exports.layout import Progress
from contacts.exports.record import DownloadRecord, Outcome
from contacts.models import AuditEvent
from contacts.upstream.organisations import Organisation
from contacts.upstream.scan import contact_scan


def export_record(
    *,
    user,
    username: str,
    organisation: Organisation,
    query: ContactQuery,
    fmt: ExportFormat,
    source: str,
    path: str = "",
    ip_address: str | None = None,
    progress: Progress,
    view: str = "",
    duplicates: str = "",
) -> DownloadRecord:
    """The audit record of one export, counting the rows `progress` has seen; `view` is the
    saved view it came from, if any, and `duplicates` the key of a duplicates download (both
    kept with the filters)."""

    def line(_scan) -> tuple[str, tuple]:
        return "format=%s rows=%d pages=%d", (fmt.name, progress.rows, progress.pages)

    return DownloadRecord(
        kind=AuditEvent.Kind.EXPORT,
        user=user,
        username=username,
        organisation_id=organisation.id,
        fmt=fmt.name,
        source=source,
        filters={
            **query.params(),
            **({"view": view} if view else {}),
            **({BY_PARAM: duplicates} if duplicates else {}),
        },
        path=path,
        ip_address=ip_address,
        tally=lambda _scan: {"rows": progress.rows},
        line=line,
    )


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
    view: str = "",
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
    progress = progress if progress is not None else Progress()
    record = export_record(
        user=user,
        username=username,
        organisation=organisation,
        query=query,
        fmt=fmt,
        source=source,
        path=path,
        ip_address=ip_address,
        progress=progress,
        view=view,
    )
    scan = contact_scan(organisation=organisation, query=query)
    record.subject = scan
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
    chunks = fmt.contacts_writer(
        first_page, record.pages(scan), progress=progress, columns=columns, **fmt.own({"bom": bom})
    )
    return record.stream(chunks), progress


def duplicates_export(
    *,
    user,
    username: str,
    organisation: Organisation,
    query: ContactQuery,
    by: str,
    fmt: ExportFormat,
    bom: bool = True,
    path: str = "",
    ip_address: str | None = None,
    progress: Progress | None = None,
    columns: Columns | None = None,
    view: str = "",
) -> Iterator[bytes]:
    """Start a duplicates download (see `contacts.exports.duplicates`): the first page is asked
    now, as an export's; the bytes follow both scans. Audited as an export, with `by` among its
    filters; the same promises as `contact_export` otherwise."""
    progress = progress if progress is not None else Progress()
    record = export_record(
        user=user,
        username=username,
        organisation=organisation,
        query=query,
        fmt=fmt,
        source="web",
        path=path,
        ip_address=ip_address,
        progress=progress,
        view=view,
        duplicates=by,
    )
    run = DuplicatesRun(organisation=organisation, query=query, by=by, on_page=record.beat)
    record.subject = run
    try:
        run.start()
    except Exception as exc:
        record.finish(Outcome.FAILED, exc)
        raise

    def chunks() -> Iterator[bytes]:
        groups = run.run()
        options = fmt.own({"bom": bom})
        yield from fmt.duplicates_writer(groups, progress=progress, columns=columns, **options)

    return record.stream(chunks())
