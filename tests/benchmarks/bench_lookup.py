"""Benchmark of the bulk lookup through gunicorn against a plain loop making the same calls.

    .venv/bin/python -m tests.benchmarks.bench_lookup      (or: make bench)
        [--repeats N] [--latency-ms 20]

Starts the real stack with `tests.live` (demo API adding 20 ms to every answer, the dashboard
under gunicorn as production runs it, DJANGO_DEBUG=0, 1 worker, 4 threads, on loopback) and
looks up a list of 1,000 distinct values of org-tejo: 500 contacts (emails, and phone numbers
typed with spaces) and 500 emails nobody has, interleaved.

In the same run, alternating:

- plain loop (the baseline): `requests` makes the same 1,000 calls one after another
  (`GET /contacts/{value}?identifierType=...`, the same key), decoding each JSON answer;
- the dashboard: `POST /orgs/org-tejo/contacts/lookup.csv` with the list; total time, time to
  first byte, the rows checked (every found contact's id, in input order), the calls in flight
  the engine settled on and the most it allowed itself (from the worker's "lookup end" log
  line), and the gunicorn worker's peak memory growth.

Then memory against the list's length: the same lookup of 1,000 and of 5,000 values (the
dashboard only), the worker's peak memory growth for each.

Target: at 20 ms, the 1,000 lookups in at most 0.3x the plain loop; memory growth for 5,000
values close to that for 1,000 (flat beyond the list itself). Benchmarks measure, they do not
assert: a missed target is printed as MISSED and the exit status is still 0. It is 1 only if a
result was wrong.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import requests

from contacts.demo.data import contacts_for
from tests.benchmarks.bench_export import aligned, load_average, machine, median, verdict
from tests.live import LiveStack, live_stack, memory_kib, reset_peak_rss

ORG_ID = "org-tejo"
PRODUCTION = {"DJANGO_DEBUG": "0"}
TARGET_RATIO = 0.3
LOOKUP_LINE = re.compile(
    r"lookup end org=\S+ pages=\d+ rows=\d+ calls=(\d+) in_flight=(\d+) in_flight_peak=(\d+) "
    r"overloads=(\d+)"
)


@dataclass
class Item:
    typed: str  # as it goes into the list
    kind: str  # identifierType
    value: str  # as the API is asked
    contact_id: str  # "" when nobody has it


def items(count: int) -> list[Item]:
    """`count` distinct values: half contacts of ORG_ID, half unknown emails, interleaved."""
    known = [c for c in contacts_for(ORG_ID) if c.get("id") and c.get("email")]
    found = []
    for n, contact in enumerate(known[: count // 2]):
        phone = contact.get("phone_number")
        if n % 2 and phone:
            typed = f"{phone[:3]} {phone[3:5]} {phone[5:9]}-{phone[9:]}"  # as people type
            found.append(Item(typed, "phone_number", phone, contact["id"]))
        else:
            found.append(Item(contact["email"], "email", contact["email"], contact["id"]))
    unknown = [
        Item(f"nobody{n}@example.invalid", "email", f"nobody{n}@example.invalid", "")
        for n in range(count - len(found))
    ]
    mixed = [x for pair in zip(found, unknown, strict=False) for x in pair]
    return mixed + found[len(unknown) :] + unknown[len(found) :]


def plain_loop(stack: LiveStack, values: Sequence[Item]) -> float:
    with requests.Session() as session:
        session.headers.update({"x-api-key": stack.api_key(ORG_ID), "Accept": "application/json"})
        started = time.perf_counter()
        for item in values:
            response = session.get(
                f"{stack.api_url}/contacts/{quote(item.value, safe='')}",
                params={"identifierType": item.kind},
                timeout=30,
            )
            if response.status_code != 404:
                response.raise_for_status()
                response.json()
        return time.perf_counter() - started


@dataclass
class Run:
    total: float
    first_bytes: float
    memory_growth_kib: int
    in_flight: int = 0
    in_flight_peak: int = 0
    overloads: int = 0
    error: str = ""


def lookup_line(stack: LiveStack, offset: int) -> re.Match | None:
    log = stack.workdir / "gunicorn.log"
    deadline = time.monotonic() + 5
    while True:
        found = LOOKUP_LINE.search(log.read_text(errors="replace")[offset:])
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def lookup_once(
    stack: LiveStack, session: requests.Session, values: Sequence[Item], worker: int
) -> Run:
    reset_peak_rss(worker)
    rss_before = memory_kib(worker)["VmRSS"]
    log_offset = len((stack.workdir / "gunicorn.log").read_text(errors="replace"))
    chunks: list[bytes] = []
    first_bytes = 0.0
    started = time.perf_counter()
    with session.post(
        stack.url(f"/orgs/{ORG_ID}/contacts/lookup.csv"),
        data={
            "identifiers": "\n".join(item.typed for item in values),
            "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
        },
        stream=True,
        timeout=600,
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            if not chunks:
                first_bytes = time.perf_counter() - started
            chunks.append(chunk)
    total = time.perf_counter() - started
    run = Run(total, first_bytes, memory_kib(worker)["VmHWM"] - rss_before)
    text = b"".join(chunks).decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    got = [(row["status"], row["id"]) for row in rows]
    want = [("found", i.contact_id) if i.contact_id else ("not_found", "") for i in values]
    if got != want:
        wrong = sum(a != b for a, b in zip(got, want, strict=False))
        run.error = f"{wrong} wrong rows of {len(want)} (got {len(got)})"
    line = lookup_line(stack, log_offset)
    if line:
        run.in_flight, run.in_flight_peak, run.overloads = (int(line.group(n)) for n in (2, 3, 4))
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_lookup")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--latency-ms", type=int, default=20, help="the demo API's latency")
    args = parser.parse_args(argv)

    thousand, five_thousand = items(1000), items(5000)
    print(f"Starting the demo API ({args.latency_ms} ms) and gunicorn…", flush=True)
    load_before = load_average()
    demo_args = ["--latency-ms", str(args.latency_ms)]
    with live_stack(org_ids=[ORG_ID], demo_args=demo_args, env=PRODUCTION) as stack:
        session = stack.login()
        worker = stack.worker_pid()
        lookup_once(stack, session, thousand[:50], worker)  # warm-up, not measured
        plain: list[float] = []
        runs: list[Run] = []
        for _ in range(args.repeats):
            plain.append(plain_loop(stack, thousand))
            runs.append(lookup_once(stack, session, thousand, worker))
        memory_1k = lookup_once(stack, session, thousand, worker)
        memory_5k = lookup_once(stack, session, five_thousand, worker)
    load = (load_before, load_average())

    ratio = median([r.total for r in runs]) / median(plain)
    errors = [r.error for r in [*runs, memory_1k, memory_5k] if r.error]
    rows = [
        ["1,000 lookups, 20 ms upstream", "median", "target"],
        ["plain loop, one call after another", f"{median(plain):.2f} s", ""],
        ["dashboard, lookup.csv", f"{median([r.total for r in runs]):.2f} s", ""],
        [
            "ratio dashboard / plain loop",
            f"{ratio:.2f}x",
            f"≤ {TARGET_RATIO}x {verdict(ratio, TARGET_RATIO)}",
        ],
        ["time to first byte", f"{median([r.first_bytes for r in runs]):.2f} s", ""],
        [
            "calls in flight settled on / most allowed",
            f"{median([r.in_flight for r in runs]):.0f} / {max(r.in_flight_peak for r in runs)}",
            "",
        ],
        ["overloads met (429/503/timeouts)", f"{sum(r.overloads for r in runs)}", ""],
        [
            "worker peak memory growth, 1,000 values",
            f"{memory_1k.memory_growth_kib / 1024:.1f} MiB",
            "",
        ],
        [
            "worker peak memory growth, 5,000 values",
            f"{memory_5k.memory_growth_kib / 1024:.1f} MiB",
            "flat beyond the list",
        ],
    ]
    print()
    print("\n".join(aligned(rows)))
    print(
        f"\nLoad average {load[0]:.2f} before, {load[1]:.2f} after. Machine: {machine()}.\n"
        "Stack: gunicorn (1 worker, 4 threads, DJANGO_DEBUG=0) and the demo API on loopback; "
        "lookups through the scan engine (CONTACTSHIP_SCAN_CALLS_START 2, at most "
        "CONTACTSHIP_MAX_CONCURRENT_CALLS 8 less CONTACTSHIP_RESERVED_CALLS 2).\n"
        f"{args.repeats} runs of each, alternating; verdicts on the medians."
    )
    if errors:
        print("\nWRONG RESULTS (timings above are not meaningful):\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
