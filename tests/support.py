"""Helpers several test modules share: users and their memberships, the demo API as a process,
reading streamed CSV and XLSX answers, running a call in a thread, timing a request, and the
scan threads still alive."""

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import redis
import requests
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from openpyxl import load_workbook

from contacts.upstream.pool import THREAD_NAME

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-Long-test-passw0rd"


# A search page shown before Contactship answered: its results region asks for the results.
AWAITING = re.compile(r'<div class="results-awaiting" hx-get="([^"]+)" hx-trigger="load"')


def awaiting_url(response) -> str | None:
    """The address a search page shown before its results asks them from, or None."""
    if response.streaming or response.status_code != 200:
        return None
    found = AWAITING.search(response.content.decode())
    return html.unescape(found.group(1)) if found else None


def search_answer(client: Client, url: str, **extra):
    """The search page's answer, however it comes: the page, or, when the page was shown before
    Contactship answered, the results it then asks for (as its htmx does on load)."""
    response = client.get(url, **extra)
    follow = awaiting_url(response)
    if follow is None:
        return response
    return client.get(urljoin(url, follow), HTTP_HX_REQUEST="true", **extra)


def make_user(django_user_model, username: str, orgs: dict[str, bool] | None = None):
    from contacts.models import Membership

    user = django_user_model.objects.create_user(username=username, password=PASSWORD)
    for org_id, can_export in (orgs or {}).items():
        Membership.objects.create(user=user, organisation_id=org_id, can_export=can_export)
    return user


def logged_in_client(django_user_model, username: str, orgs: dict[str, bool]) -> Client:
    """A new test client logged in as a new user with these memberships (organisation: export)."""
    client = Client()
    client.force_login(make_user(django_user_model, username, orgs))
    return client


@contextmanager
def demo_api_process(*args: str, organisations: dict) -> Iterator[tuple[str, str]]:
    """`python -m contacts.demo` with these organisations and fault flags, on a free loopback
    port: its base URL (with /v1) and the line it started with, once it answers."""
    env = {**os.environ, "CONTACTSHIP_ORGANISATIONS": json.dumps(organisations)}
    command = [sys.executable, "-m", "contacts.demo", "--host", "127.0.0.1", "--port", "0", *args]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and demo
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        assert "http://" in line, f"demo API did not start: {line!r}"
        base_url = line.split()[line.split().index("on") + 1]
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base_url.removesuffix("/v1") + "/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base_url, line
    finally:
        process.terminate()
        process.wait(timeout=10)


def body_of(response) -> bytes:
    """The whole body of a response, streamed or not (reading a stream to its end closes it)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(body: bytes) -> list[list[str]]:
    """The rows of a CSV export, header included; the export starts with a byte order mark."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "the export starts with a byte order mark"
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def csv_records(body: bytes) -> list[dict[str, str]]:
    """The rows of a CSV export as dictionaries keyed by its header."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "the export starts with a byte order mark"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def xlsx_rows(body: bytes) -> list[list]:
    """The rows of an XLSX export's sheet, each as long as the header."""
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    # a read-only sheet leaves out a row's trailing empty cells
    return [row + [None] * (len(rows[0]) - len(row)) for row in rows]


def in_thread(target) -> tuple[threading.Thread, dict]:
    """`target()` started in a thread; the dict gets its "value" or its "error" once it ends."""
    result: dict = {}

    def run():
        try:
            result["value"] = target()
        except Exception as exc:  # the test reads it
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def timed_get(session, url: str, **kwargs) -> tuple[requests.Response, float]:
    """A GET with a 10 s timeout, and the seconds it took to answer."""
    started = time.monotonic()
    response = session.get(url, timeout=10, **kwargs)
    return response, time.monotonic() - started


def assert_others_served(stack, session, search_url: str, *, search_within: float) -> None:
    """While one person holds every place, someone else's search answers within
    `search_within` seconds, and the health check and the login page within a second."""
    search, took = timed_get(session, search_url, params={"full_name": "ana"})
    assert search.status_code == 200 and took < search_within
    health, took = timed_get(requests, stack.url("/healthz"))
    assert health.status_code == 200 and took < 1.0
    login, took = timed_get(requests, stack.url("/accounts/login/"))
    assert login.status_code == 200 and took < 1.0


def scan_threads() -> list[threading.Thread]:
    """The scan engine's read-ahead threads still running, in this process."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME) and t.is_alive()]


@contextmanager
def redis_server(directory: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """A `redis-server` of the test's own (Debian's) on a free loopback port, answering, for the
    `with` block: its URL. Nothing is saved to disk."""
    from tests.live import free_port

    server = shutil.which("redis-server")
    assert server, "redis-server is needed (apt-get install redis-server; .ci/run installs it)"
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [server, "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://{host}:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def cache_contents() -> bytes:
    """Every value the default cache holds, as stored (pickled) and joined, whichever backend the
    run uses (the local-memory cache, or Redis in CI's second pass): what a test searches for a
    contact's name, email or phone. A pickled string holds its UTF-8 bytes."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client()
        return b"".join(client.get(key) or b"" for key in client.keys("*"))
    return b"".join(backend._cache.values())
