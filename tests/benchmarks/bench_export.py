"""Benchmark of the CSV export through gunicorn against a plain fetch loop.

    .venv/bin/python -m tests.benchmarks.bench_export      (or: make bench)

Starts the real stack with `tests.live` (demo API + dashboard under gunicorn as production runs
it, 1 worker, 4 threads, on loopback), then measures two exports of org-andes:

- "10k slice": the contacts whose name contains "ro" (9,806 of 60,000 in the demo data), i.e.
  `/orgs/org-andes/contacts/export.csv?full_name=ro`;
- "60k": every contact of org-andes (60,000).

For each, in the same run and alternating:

- plain fetch loop (the baseline): `requests` asks the demo API for the same pages one after
  another (`limit=100`, `offset` += 100, same key and filter, decoding the JSON, stopping at a
  short page) — the least work any export has to wait for;
- the dashboard's export through gunicorn: time to first byte, total time, bytes, rows (checked
  against the demo data: the exact ids in order), and the peak memory growth of the gunicorn
  *worker* process (VmHWM after the export minus VmRSS before it, from /proc; the peak is reset
  before each export where the kernel allows it).

`--demo-args="--latency-ms 20"` gives every upstream answer a delay, like a distant API; by
default the demo API answers at loopback speed.

Prints one table of medians with the targets next to them. Benchmarks measure, they do not
assert: a missed target is printed as MISSED and the exit status is still 0. The exit status is 1
only if an export was wrong (wrong rows, or a broken download), since its timings then mean
nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from contacts.demo.data import matches
from tests.live import LiveStack, live_stack, memory_kib, reset_peak_rss

ORG_ID = "org-andes"
PAGE_SIZE = 100
CHUNK = 64 * 1024

# As production runs the dashboard.
PRODUCTION = {"DJANGO_DEBUG": "0"}
EXPORT_CALLS = 2  # CONTACTSHIP_EXPORT_CALLS's default

TARGET_MEMORY_MB = 50.0
TARGET_FIRST_BYTES_S = 1.0
TARGET_RATIO = 1.0


@dataclass(frozen=True)
class Case:
    label: str
    filters: dict[str, str]
    repeats: int


CASES = (
    Case('10k slice (name contains "ro")', {"full_name": "ro"}, repeats=5),
    Case("60k (all of org-andes)", {}, repeats=3),
)


@dataclass
class ExportRun:
    first_bytes: float
    total: float
    size: int
    rows: int
    memory_growth_kib: int


@dataclass
class Results:
    case: Case
    expected_rows: int
    baseline: list[float] = field(default_factory=list)
    exports: list[ExportRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# --- the two measurements ------------------------------------------------------------------------


def plain_fetch_loop(stack: LiveStack, filters: dict[str, str]) -> tuple[float, int]:
    """Seconds to fetch every page from the demo API one after another, and the contacts seen."""
    with requests.Session() as session:
        session.headers.update({"x-api-key": stack.api_key(ORG_ID), "Accept": "application/json"})
        started = time.perf_counter()
        offset = 0
        while True:
            response = session.get(
                stack.api_url + "/contacts",
                params={**filters, "limit": PAGE_SIZE, "offset": offset},
                timeout=30,
            )
            response.raise_for_status()
            page = response.json()
            offset += len(page)
            if len(page) < PAGE_SIZE:
                break
        return time.perf_counter() - started, offset


def export_once(
    stack: LiveStack, session: requests.Session, filters: dict[str, str], worker: int
) -> tuple[ExportRun, bytes]:
    reset_peak_rss(worker)
    rss_before = memory_kib(worker)["VmRSS"]
    chunks: list[bytes] = []
    first_bytes = 0.0
    started = time.perf_counter()
    with session.get(stack.export_url(ORG_ID), params=filters, stream=True, timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            if not chunks:
                first_bytes = time.perf_counter() - started
            chunks.append(chunk)
    total = time.perf_counter() - started
    peak_after = memory_kib(worker)["VmHWM"]
    body = b"".join(chunks)
    run = ExportRun(
        first_bytes=first_bytes,
        total=total,
        size=len(body),
        rows=0,
        memory_growth_kib=peak_after - rss_before,
    )
    return run, body


def csv_ids(body: bytes) -> list[str]:
    text = body.decode("utf-8").removeprefix("\ufeff")
    _header, *rows = csv.reader(io.StringIO(text, newline=""))
    return [row[0] for row in rows]


# --- running and reporting -----------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    return (
        f"{model}, {cores} cores ({usable} usable), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as text columns, the first row a header underlined with dashes."""
    widths = [max(len(line[i]) for line in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def run_case(stack: LiveStack, session: requests.Session, worker: int, case: Case) -> Results:
    expected = [contact["id"] for contact in matches(ORG_ID, **case.filters)]
    results = Results(case=case, expected_rows=len(expected))
    for attempt in range(1, case.repeats + 1):
        seconds, fetched = plain_fetch_loop(stack, case.filters)
        if fetched != len(expected):
            results.errors.append(f"the plain loop saw {fetched} contacts, not {len(expected)}")
        results.baseline.append(seconds)
        try:
            run, body = export_once(stack, session, case.filters, worker)
        except requests.RequestException as exc:
            results.errors.append(f"export {attempt} failed: {type(exc).__name__}: {exc}")
            continue
        ids = csv_ids(body)
        run.rows = len(ids)
        if ids != expected:
            results.errors.append(
                f"export {attempt}: {len(ids)} rows, expected {len(expected)} (ids differ)"
            )
        results.exports.append(run)
        print(
            f"  {case.label} #{attempt}: plain loop {seconds:.2f} s; export {run.total:.2f} s, "
            f"first bytes {run.first_bytes * 1000:.0f} ms, {run.size:,} bytes, {run.rows:,} rows, "
            f"worker peak growth {run.memory_growth_kib / 1000:.1f} MB",
            flush=True,
        )
    return results


def table(
    all_results: Sequence[Results],
    peak_reset: bool,
    demo_args: Sequence[str],
    export_calls: int,
) -> str:
    def row(label: str, cell: Callable[[Results], str], target: str = "") -> list[str]:
        return [label, *(cell(r) for r in all_results), target]

    def seconds(values: Sequence[float]) -> str:
        return f"{median(values):.2f} s"

    def ratio(r: Results) -> float:
        return median([e.total for e in r.exports]) / median(r.baseline)

    def first(r: Results) -> float:
        return median([e.first_bytes for e in r.exports])

    def memory(r: Results) -> float:
        return median([e.memory_growth_kib for e in r.exports]) / 1000

    def memory_max(r: Results) -> float:
        return max((e.memory_growth_kib for e in r.exports), default=0) / 1000

    rows = [
        ["measure (median of runs)", *(r.case.label for r in all_results), "target"],
        row("runs", lambda r: f"{len(r.exports)} export, {len(r.baseline)} plain"),
        row(
            "rows (exact ids, in order)",
            lambda r: (
                f"{median([e.rows for e in r.exports]):,.0f} "
                + ("exact" if not r.errors else "MISMATCH")
            ),
        ),
        row("bytes", lambda r: f"{median([e.size for e in r.exports]):,.0f}"),
        row("plain fetch loop, total", lambda r: seconds(r.baseline)),
        row("export through gunicorn, total", lambda r: seconds([e.total for e in r.exports])),
        row(
            "export / plain loop",
            lambda r: f"{ratio(r):.2f}x {verdict(ratio(r), TARGET_RATIO)}",
            f"<= {TARGET_RATIO:.1f}x",
        ),
        row(
            "export, first bytes",
            lambda r: f"{first(r) * 1000:.0f} ms {verdict(first(r), TARGET_FIRST_BYTES_S)}",
            f"<= {TARGET_FIRST_BYTES_S:.0f} s",
        ),
        row(
            "peak memory growth, gunicorn worker",
            lambda r: (
                f"{memory(r):.1f} MB (max {memory_max(r):.1f}) "
                f"{verdict(memory(r), TARGET_MEMORY_MB)}"
            ),
            f"<= {TARGET_MEMORY_MB:.0f} MB",
        ),
    ]
    lines = aligned(rows)
    notes = [
        "",
        f"Machine: {machine()}.",
        "Stack: demo API (python -m contacts.demo"
        + (" " + " ".join(demo_args) if demo_args else ", no latency")
        + ") and gunicorn (1 worker, 4 threads, DJANGO_DEBUG=0), on loopback; the export "
        + f"keeps {export_calls} call{'s' if export_calls != 1 else ''} in flight "
        + "(CONTACTSHIP_EXPORT_CALLS).",
        "Plain fetch loop: requests, one page after another from the demo API (limit=100).",
        "Memory: of the gunicorn worker process (VmHWM after the export minus VmRSS before it, "
        + (
            "peak reset before each export)."
            if peak_reset
            else "peak NOT reset: the kernel refused; later runs include earlier peaks)."
        ),
        "MB = 10^6 bytes. Verdicts are on the medians.",
    ]
    return "\n".join(lines + notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_export")
    parser.add_argument(
        "--repeats", type=int, help="runs per measurement (default: 5 for 10k, 3 for 60k)"
    )
    parser.add_argument(
        "--demo-args",
        default="",
        help='flags for the demo API, e.g. --demo-args="--latency-ms 20" to model a distant API',
    )
    parser.add_argument(
        "--export-calls",
        type=int,
        default=EXPORT_CALLS,
        help=f"CONTACTSHIP_EXPORT_CALLS for the dashboard (default: {EXPORT_CALLS})",
    )
    args = parser.parse_args(argv)
    demo_args = shlex.split(args.demo_args)
    cases = [Case(c.label, c.filters, args.repeats or c.repeats) for c in CASES]

    print("Starting the demo API and gunicorn…", flush=True)
    env = {**PRODUCTION, "CONTACTSHIP_EXPORT_CALLS": str(args.export_calls)}
    with live_stack(org_ids=[ORG_ID], demo_args=demo_args, env=env) as stack:
        session = stack.login()
        worker = stack.worker_pid()
        peak_reset = reset_peak_rss(worker)
        # Warm-up, not measured: the worker's first export imports and allocates what it keeps.
        plain_fetch_loop(stack, {"full_name": "gonz"})
        export_once(stack, session, {"full_name": "gonz"}, worker)
        all_results = [run_case(stack, session, worker, case) for case in cases]
        if stack.gunicorn_process.poll() is not None:
            print("gunicorn stopped during the benchmark:\n" + stack.log_tail("gunicorn"))
            return 1

    print()
    print(table(all_results, peak_reset, demo_args, args.export_calls))
    errors = [f"{r.case.label}: {e}" for r in all_results for e in r.errors]
    if errors:
        print("\nWRONG EXPORTS (timings above are not meaningful):\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
