"""Benchmark of the CSV export through gunicorn against a plain fetch loop, as users feel it.

    .venv/bin/python -m tests.benchmarks.bench_export      (or: make bench)
        [--repeats N] [--only 20ms,100ms,limited]

Starts the real stack with `tests.live` (demo API + dashboard under gunicorn as production runs
it, DJANGO_DEBUG=0, 1 worker, 4 threads, on loopback) once per upstream:

- "20ms" and "100ms": the demo API adds that latency to every answer, as a distant API does;
- "limited": 20 ms, and the demo API refuses with 429 any call beyond 3 in flight
  (`--max-concurrent 3`).

Against each it exports two results of org-andes:

- "10k slice": the contacts whose name contains "ro" (9,806 of 60,000 in the demo data), i.e.
  `/orgs/org-andes/contacts/export.csv?full_name=ro`;
- "60k": every contact of org-andes (60,000); only this one against "limited".

For each, in the same run and alternating:

- plain fetch loop (the baseline): `requests` asks the demo API for the same pages one after
  another (`limit=100`, `offset` += 100, same key and filter, decoding the JSON, stopping at a
  short page);
- the dashboard's export through gunicorn: total time, time to first byte, rows (checked against
  the demo data: the exact ids in order), the gunicorn worker's CPU per 1,000 rows and peak
  memory growth (/proc), and from the worker's log line at the end of the scan the calls in
  flight it settled on, the most it allowed itself and the 429/503/timeouts it met. Against
  "limited", the most calls the demo API saw at once (`GET /_demo/stats`).

Targets: at 20 ms the 60k export in at most 0.35x the plain loop; against "limited" every row and
never more than the limit plus one call at the upstream. Prints tables of medians with the load
average. Benchmarks measure, they do not assert: a missed target is printed as MISSED and the
exit status is still 0. It is 1 only if an export was wrong (wrong rows, a broken download).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import re
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

TARGET_RATIO_60K_20MS = 0.35
TARGET_FIRST_BYTES_S = 1.0
LIMIT = 3  # the "limited" upstream's calls in flight
SCAN_LINE = re.compile(
    r"scan end org=\S+ pages=(\d+) rows=(\d+) calls=(\d+) in_flight=(\d+) "
    r"in_flight_peak=(\d+) overloads=(\d+)"
)


@dataclass(frozen=True)
class Case:
    label: str
    filters: dict[str, str]
    repeats: int


TEN_K = Case('10k slice (name contains "ro")', {"full_name": "ro"}, repeats=2)
SIXTY_K = Case("60k (all of org-andes)", {}, repeats=1)


@dataclass(frozen=True)
class Upstream:
    name: str
    label: str
    demo_args: tuple[str, ...]
    cases: tuple[Case, ...]
    limit: int = 0


UPSTREAMS = (
    Upstream("20ms", "API +20 ms", ("--latency-ms", "20"), (TEN_K, SIXTY_K)),
    Upstream("100ms", "API +100 ms", ("--latency-ms", "100"), (TEN_K, SIXTY_K)),
    Upstream(
        "limited",
        f"API +20 ms, 429 beyond {LIMIT} in flight",
        ("--latency-ms", "20", "--max-concurrent", str(LIMIT)),
        (SIXTY_K,),
        limit=LIMIT,
    ),
)


@dataclass
class ExportRun:
    first_bytes: float
    total: float
    size: int
    rows: int
    memory_growth_kib: int
    cpu_seconds: float
    in_flight: int = 0
    in_flight_peak: int = 0
    overloads: int = 0


@dataclass
class Results:
    case: Case
    expected_rows: int
    baseline: list[float] = field(default_factory=list)
    exports: list[ExportRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    upstream_peak: int = 0


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scan_line(stack: LiveStack, offset: int) -> re.Match | None:
    """The worker's "scan end" log line written after `offset` of gunicorn's log."""
    log = stack.workdir / "gunicorn.log"
    deadline = time.monotonic() + 5
    while True:
        found = SCAN_LINE.search(log.read_text(errors="replace")[offset:])
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def export_once(
    stack: LiveStack, session: requests.Session, filters: dict[str, str], worker: int
) -> tuple[ExportRun, bytes]:
    reset_peak_rss(worker)
    rss_before = memory_kib(worker)["VmRSS"]
    log_offset = len((stack.workdir / "gunicorn.log").read_text(errors="replace"))
    cpu_before = cpu_seconds(worker)
    chunks: list[bytes] = []
    first_bytes = 0.0
    started = time.perf_counter()
    with session.get(
        stack.export_url(ORG_ID), params=filters, stream=True, timeout=300
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            if not chunks:
                first_bytes = time.perf_counter() - started
            chunks.append(chunk)
    total = time.perf_counter() - started
    peak_after = memory_kib(worker)["VmHWM"]
    run = ExportRun(
        first_bytes=first_bytes,
        total=total,
        size=sum(map(len, chunks)),
        rows=0,
        memory_growth_kib=peak_after - rss_before,
        cpu_seconds=cpu_seconds(worker) - cpu_before,
    )
    line = scan_line(stack, log_offset)
    if line:
        run.in_flight, run.in_flight_peak, run.overloads = (int(line.group(n)) for n in (4, 5, 6))
    return run, b"".join(chunks)


def csv_ids(body: bytes) -> list[str]:
    text = body.decode("utf-8").removeprefix("\ufeff")
    _header, *rows = csv.reader(io.StringIO(text, newline=""))
    return [row[0] for row in rows]


def upstream_peak(stack: LiveStack) -> int:
    stats = requests.get(stack.api_url.removesuffix("/v1") + "/_demo/stats", timeout=10).json()
    return int(stats["peak_in_flight"])


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


def load_average() -> float:
    return os.getloadavg()[0]


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
            f"first bytes {run.first_bytes * 1000:.0f} ms, {run.rows:,} rows, "
            f"CPU {run.cpu_seconds:.2f} s, calls in flight {run.in_flight} "
            f"(most {run.in_flight_peak}, {run.overloads} overloads)",
            flush=True,
        )
    results.upstream_peak = upstream_peak(stack)
    return results


def table(upstream: Upstream, all_results: Sequence[Results], load: tuple[float, float]) -> str:
    def row(label: str, cell: Callable[[Results], str], target: str = "") -> list[str]:
        return [label, *(cell(r) for r in all_results), target]

    def exports(r: Results, attribute: str) -> float:
        return median([getattr(e, attribute) for e in r.exports])

    def ratio(r: Results) -> float:
        return exports(r, "total") / median(r.baseline)

    def ratio_cell(r: Results) -> str:
        text = f"{ratio(r):.2f}x"
        if upstream.name == "20ms" and r.case.label == SIXTY_K.label:
            text += " " + verdict(ratio(r), TARGET_RATIO_60K_20MS)
        return text

    def cpu(r: Results) -> float:
        return median([e.cpu_seconds / max(e.rows, 1) * 1000 * 1000 for e in r.exports])

    def first(r: Results) -> float:
        return exports(r, "first_bytes")

    rows = [
        [f"{upstream.label}: median of runs", *(r.case.label for r in all_results), "target"],
        row("runs", lambda r: f"{len(r.exports)} export, {len(r.baseline)} plain"),
        row(
            "rows (exact ids, in order)",
            lambda r: f"{exports(r, 'rows'):,.0f} " + ("exact" if not r.errors else "MISMATCH"),
            "every row" if upstream.limit else "",
        ),
        row("plain fetch loop, total", lambda r: f"{median(r.baseline):.2f} s"),
        row("export through gunicorn, total", lambda r: f"{exports(r, 'total'):.2f} s"),
        row(
            "export / plain loop",
            ratio_cell,
            f"60k: <= {TARGET_RATIO_60K_20MS}x" if upstream.name == "20ms" else "",
        ),
        row(
            "export, first bytes",
            lambda r: f"{first(r) * 1000:.0f} ms {verdict(first(r), TARGET_FIRST_BYTES_S)}",
            f"<= {TARGET_FIRST_BYTES_S:.0f} s",
        ),
        row(
            "calls in flight: settled / most / overloads",
            lambda r: (
                f"{exports(r, 'in_flight'):.0f} / {exports(r, 'in_flight_peak'):.0f} / "
                f"{exports(r, 'overloads'):.0f}"
            ),
        ),
        row("worker CPU per 1,000 rows", lambda r: f"{cpu(r):.1f} ms"),
        row(
            "peak memory growth, gunicorn worker",
            lambda r: f"{exports(r, 'memory_growth_kib') / 1000:.1f} MB",
        ),
    ]
    if upstream.limit:
        rows.append(
            row(
                "most calls the upstream saw at once",
                lambda r: f"{r.upstream_peak} {verdict(r.upstream_peak, upstream.limit + 1)}",
                f"<= {upstream.limit + 1} (limit + 1)",
            )
        )
    notes = [
        f"Demo API: python -m contacts.demo {' '.join(upstream.demo_args)}. "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after "
        "(anything above 0 competes with the benchmark for the cores).",
    ]
    return "\n".join([*aligned(rows), *notes])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_export")
    parser.add_argument("--repeats", type=int, help="runs per measurement (default: 2 / 1)")
    parser.add_argument(
        "--only",
        default=",".join(u.name for u in UPSTREAMS),
        help="upstreams to measure, comma-separated: 20ms, 100ms, limited (default: all)",
    )
    args = parser.parse_args(argv)
    chosen = [u for u in UPSTREAMS if u.name in args.only.split(",")]

    tables = []
    errors: list[str] = []
    for upstream in chosen:
        print(f"Starting the demo API ({upstream.label}) and gunicorn…", flush=True)
        load_before = load_average()
        with live_stack(org_ids=[ORG_ID], demo_args=upstream.demo_args, env=PRODUCTION) as stack:
            session = stack.login()
            worker = stack.worker_pid()
            # Warm-up, not measured: the worker's first export imports and allocates what it
            # keeps.
            plain_fetch_loop(stack, {"full_name": "gonz"})
            export_once(stack, session, {"full_name": "gonz"}, worker)
            cases = [Case(c.label, c.filters, args.repeats or c.repeats) for c in upstream.cases]
            results = [run_case(stack, session, worker, case) for case in cases]
            if stack.gunicorn_process.poll() is not None:
                print("gunicorn stopped during the benchmark:\n" + stack.log_tail("gunicorn"))
                return 1
        tables.append(table(upstream, results, (load_before, load_average())))
        errors += [f"{upstream.label}, {r.case.label}: {e}" for r in results for e in r.errors]

    print()
    print("\n\n".join(tables))
    print(
        f"\nMachine: {machine()}.\n"
        "Stack: gunicorn (1 worker, 4 threads, DJANGO_DEBUG=0) and the demo API on loopback; "
        "the export's calls in flight adapt (CONTACTSHIP_SCAN_CALLS_START 2, at most "
        "CONTACTSHIP_MAX_CONCURRENT_CALLS 8 less CONTACTSHIP_RESERVED_CALLS 2).\n"
        "Plain fetch loop: requests, one page after another from the demo API (limit=100).\n"
        "CPU: user+system of the gunicorn worker process over the export (/proc), per row.\n"
        "MB = 10^6 bytes. Verdicts are on the medians."
    )
    if errors:
        print("\nWRONG EXPORTS (timings above are not meaningful):\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
