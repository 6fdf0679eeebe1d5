"""The CSV export end to end: demo API and dashboard under gunicorn, over real loopback HTTP.

What only the real stack shows: the export is streamed chunked, an upstream failure in the middle
reaches the browser as a broken download (no terminating chunk), the first bytes of a large
export come at once, and a download abandoned by the client leaves the dashboard answering.
"""

import csv
import io
import time
from collections.abc import Iterator

import pytest
import requests

from contacts.demo.data import contacts_for
from tests.live import LiveStack, live_stack

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]

CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack(org_ids=["org-tejo", "org-andes"]) as running:
        yield running


def csv_ids(body: bytes) -> list[str]:
    """The `id` column of a CSV export, header checked and skipped; an unfinished row dropped."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "the export starts with a byte order mark"
    if not text.endswith("\r\n"):
        text = text[: text.rfind("\r\n") + 2]
    header, *rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    assert header[0] == "id"
    return [row[0] for row in rows]


def test_export_through_gunicorn_is_complete_and_chunked(stack: LiveStack) -> None:
    session = stack.login()
    with session.get(stack.export_url("org-tejo"), stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in response.headers
        body = b"".join(response.iter_content(CHUNK))

    expected = [contact["id"] for contact in contacts_for("org-tejo")]
    assert len(expected) == 2345
    assert csv_ids(body) == expected


def test_upstream_failure_midway_is_a_failed_download() -> None:
    with live_stack(org_ids=["org-tejo"], demo_args=["--fail-from-offset", "300"]) as faulty:
        session = faulty.login()
        received: list[bytes] = []
        failure: Exception | None = None
        with session.get(faulty.export_url("org-tejo"), stream=True, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers.get("Transfer-Encoding") == "chunked"
            try:
                for chunk in response.iter_content(CHUNK):
                    received.append(chunk)
            except requests.exceptions.ChunkedEncodingError as exc:
                failure = exc

        ids = csv_ids(b"".join(received))
        expected = [contact["id"] for contact in contacts_for("org-tejo")]
        # Rows arrived before the failure, and they are the first rows of the real export...
        assert 100 <= len(ids) < len(expected)
        assert ids == expected[: len(ids)]
        # ...but the client was told the download broke: no terminating zero-length chunk.
        assert failure is not None, f"the download looked complete with {len(ids)} rows"


def test_large_export_starts_at_once_and_can_be_abandoned(stack: LiveStack) -> None:
    session = stack.login()
    started = time.perf_counter()
    response = session.get(stack.export_url("org-andes"), stream=True, timeout=30)
    try:
        assert response.status_code == 200
        first = next(response.iter_content(CHUNK))
        first_bytes = time.perf_counter() - started
    finally:
        # Leave after the first bytes, as a user cancelling the download would.
        response.close()
    assert first.startswith("\ufeffid,".encode())
    assert first_bytes < 3.0, f"first bytes after {first_bytes:.2f} s"

    page = session.get(stack.url("/orgs/org-tejo/contacts/"), timeout=10)
    assert page.status_code == 200
    assert "Tejo Comercial" in page.text
