"""Benchmark of the duplicates download of 60,000 contacts through gunicorn against a plain fetch
loop.

    .venv/bin/python -m tests.benchmarks.bench_duplicates      (or: make bench)
        [--repeats N] [--latency-ms 20] [--by email]

Starts the real stack with `tests.live` (demo API adding 20 ms to every answer, the dashboard
under gunicorn as production runs it, DJANGO_DEBUG=0, 1 worker) and, in the same run and
alternating:

- plain fetch loop (the baseline): `requests` asks the demo API for every page of org-andes one
  after another (`limit=100`, `offset` += 100, decoding the JSON);
- the duplicates download: `GET /orgs/org-andes/contacts/duplicates.csv?by=email` through
  gunicorn (two scans of the 60,000 contacts, then the groups): total time, the rows (checked
  against the groups recomputed from the demo data by `tests.test_duplicates`' own rules), and
  the gunicorn worker's peak memory growth (/proc VmHWM, reset before each run).

Targets: at most 0.8x the plain loop, at most 30 MB added to the worker. Prints medians; a
missed target is printed as MISSED and the exit status stays 0. It is 1 only if a download was
wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from contacts.demo.data import contacts_for
from tests.benchmarks.bench_export import (
    ORG_ID,
    PRODUCTION,
    aligned,
    load_average,
    machine,
    median,
    plain_fetch_loop,
    verdict,
)
from tests.duplicate_keys import expected_key
from tests.live import live_stack, memory_kib, reset_peak_rss
from tests.support import csv_records

TARGET_RATIO = 0.8
TARGET_MEMORY_MB = 30.0
EXPECTED = 60_000


def expected_rows(by: str) -> list[tuple[str, str]]:
    """(group, id) of every row, from the demo data (national phones read as none: org-andes
    has no default region in this stack)."""
    groups: dict[str, list[str]] = {}
    for raw in contacts_for(ORG_ID):
        key = expected_key(raw, by, "")
        if key is not None:
            groups.setdefault(key, []).append(raw["id"])
    kept = [ids for ids in groups.values() if len(ids) > 1]
    return [(str(n), id_) for n, ids in enumerate(kept, 1) for id_ in ids]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_duplicates")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--by", choices=("email", "phone", "name"), default="email")
    args = parser.parse_args(argv)

    expected = expected_rows(args.by)
    print(f"Starting the demo API (+{args.latency_ms} ms) and gunicorn…", flush=True)
    load_before = load_average()
    baseline: list[float] = []
    totals: list[float] = []
    growth_mb: list[float] = []
    errors: list[str] = []
    demo_args = ("--latency-ms", str(args.latency_ms))
    with live_stack(org_ids=[ORG_ID], demo_args=demo_args, env=PRODUCTION) as stack:
        session = stack.login()
        worker = stack.worker_pid()
        url = stack.url(f"/orgs/{ORG_ID}/contacts/duplicates.csv")
        # Warm-up, not measured: imports and the first allocations of the worker.
        session.get(url, params={"by": args.by, "full_name": "gonz"}, timeout=60)
        for attempt in range(1, args.repeats + 1):
            seconds, fetched = plain_fetch_loop(stack, {})
            if fetched != EXPECTED:
                errors.append(f"the plain loop saw {fetched} contacts")
            baseline.append(seconds)

            reset_peak_rss(worker)
            before = memory_kib(worker)["VmRSS"]
            started = time.perf_counter()
            response = session.get(url, params={"by": args.by}, timeout=300)
            total = time.perf_counter() - started
            peak = memory_kib(worker)["VmHWM"]
            rows = [(r["group"], r["id"]) for r in csv_records(response.content)]
            if response.status_code != 200 or rows != expected:
                errors.append(
                    f"run {attempt}: status {response.status_code}, {len(rows)} rows "
                    f"(expected {len(expected)})"
                )
            totals.append(total)
            growth_mb.append(max(0, peak - before) * 1024 / 1e6)
            print(
                f"  #{attempt}: plain loop {seconds:.2f} s; duplicates {total:.2f} s "
                f"({len(rows)} rows), +{growth_mb[-1]:.1f} MB",
                flush=True,
            )
    ratio = median(totals) / median(baseline)
    rows_table = [
        [f"60k duplicates by {args.by} (all of org-andes)", "measured", "target", ""],
        ["plain fetch loop, total", f"{median(baseline):.2f} s", "", ""],
        ["duplicates.csv, total", f"{median(totals):.2f} s", "", ""],
        [
            "duplicates / plain loop",
            f"{ratio:.2f}x",
            f"≤ {TARGET_RATIO}x",
            verdict(ratio, TARGET_RATIO),
        ],
        [
            "worker peak memory growth",
            f"{median(growth_mb):.1f} MB",
            f"≤ {TARGET_MEMORY_MB:.0f} MB",
            verdict(median(growth_mb), TARGET_MEMORY_MB),
        ],
    ]
    print()
    print(f"Duplicates download, API +{args.latency_ms} ms, medians of {args.repeats} runs:")
    print("\n".join(aligned(rows_table)))
    print(
        f"1-minute load average {load_before:.1f} before, {load_average():.1f} after.\n"
        f"Machine: {machine()}.\n"
        "Stack: gunicorn (1 worker, 4 threads, DJANGO_DEBUG=0) and the demo API on loopback."
    )
    if errors:
        print("\nWRONG DOWNLOADS (timings above are not meaningful):\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
