"""A bulk lookup as newline-delimited JSON, for the lookup page's script: a `start` line (how many
values, how many calls), a `row` line per value as it is looked up (with the progress so far,
its `reason` and the contact's phone as people read it), and an `end` line with the counts and,
when the lookup stopped asking, why (`stopped`: the search page's title and message for the
error, and the summary line) and the key of "Retry the failed ones" (`retry`). The script shows
the rows as they come, and cancels by closing the connection."""

from collections.abc import Callable, Iterator

import orjson

from contacts.contact.display import phone_display
from contacts.exports.reasons import lookup_stop, row_reason
from contacts.upstream.lookup import LookupProgress, LookupRow


def _row_json(row: LookupRow, contact_url: Callable[[str | None], str]) -> dict:
    contact = row.contact
    line = {
        "line": row.line,
        "input": row.identifier.text,
        "input_type": row.identifier.kind,
        "status": row.status,
        "reason": row_reason(row),
        "first_line": row.first_line or None,
        "result": row.result,
        "asked": row.asked,
    }
    if contact is not None:
        line["contact"] = {
            "id": contact.id,
            "full_name": contact.full_name,
            "email": contact.email,
            "phone_number": contact.phone_number,
            "phone_shown": phone_display(contact.phone_number or ""),
            "country": contact.country,
            "url": contact_url(contact.id),
        }
    return line


def lookup_ndjson_chunks(
    rows: Iterator[LookupRow],
    *,
    progress: LookupProgress,
    contact_url: Callable[[str | None], str],
) -> Iterator[bytes]:
    """The lines, one chunk each; `contact_url` gives a found contact's page ("" for none)."""
    start = {"type": "start", "values": progress.values, "calls": progress.calls}
    yield orjson.dumps(start) + b"\n"
    for row in rows:
        line = _row_json(row, contact_url)
        line.update(type="row", done=progress.done, in_flight=progress.in_flight)
        yield orjson.dumps(line) + b"\n"
    end = {
        "type": "end",
        "counts": dict(progress.counts),
        "in_flight_peak": progress.in_flight_peak,
        "not_asked": progress.not_asked,
        "retry": progress.retry or None,
    }
    if (stop := lookup_stop(progress)) is not None:
        end["stopped"] = {"title": stop.title, "message": stop.message, "summary": stop.summary}
    yield orjson.dumps(end) + b"\n"
