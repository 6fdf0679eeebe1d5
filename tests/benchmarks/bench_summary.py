"""Benchmark of the summary of 60,000 contacts, its data-quality part included, through gunicorn
against a plain fetch loop.

    .venv/bin/python -m tests.benchmarks.bench_summary      (or: make bench)
        [--repeats N] [--latency-ms 20]

Starts the real stack with `tests.live` (demo API adding 20 ms to every answer, the dashboard
under gunicorn as production runs it, DJANGO_DEBUG=0, 1 worker) and, in the same run and
alternating:

- plain fetch loop (the baseline): `requests` asks the demo API for every page of org-andes one
  after another (`limit=100`, `offset` += 100, decoding the JSON);
- the summary: `GET /orgs/org-andes/contacts/summary.json?refresh=1` (counted afresh each time)
  through gunicorn: total time, the count (checked: 60,000, complete, with the quality object:
  its keys held as keyed hashes for the length of the scan), and the gunicorn worker's peak
  memory growth while it counts (/proc VmHWM, reset before each run).

Targets: at most 0.4x the plain loop, at most 30 MB added to the worker. Prints medians; a missed
target is printed as MISSED and the exit status stays 0. It is 1 only if a summary was wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

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
from tests.live import live_stack, memory_kib, reset_peak_rss

TARGET_RATIO = 0.4
TARGET_MEMORY_MB = 30.0
QUALITY_KEYS = {
    "missing",
    "invalid_email",
    "invalid_phone",
    "duplicate_email",
    "duplicate_phone",
    "possible_duplicate_name",
}
EXPECTED = 60_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_summary")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args(argv)

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
        url = stack.url(f"/orgs/{ORG_ID}/contacts/summary.json")
        # Warm-up, not measured: imports and the first allocations of the worker.
        session.get(url, params={"full_name": "gonz"}, timeout=60).raise_for_status()
        for attempt in range(1, args.repeats + 1):
            seconds, fetched = plain_fetch_loop(stack, {})
            if fetched != EXPECTED:
                errors.append(f"the plain loop saw {fetched} contacts")
            baseline.append(seconds)

            reset_peak_rss(worker)
            before = memory_kib(worker)["VmRSS"]
            started = time.perf_counter()
            response = session.get(url, params={"refresh": "1"}, timeout=300)
            total = time.perf_counter() - started
            peak = memory_kib(worker)["VmHWM"]
            summary = response.json() if response.status_code == 200 else {}
            quality = summary.get("quality") or {}
            if (
                summary.get("count") != EXPECTED
                or summary.get("complete") is not True
                or set(quality) != QUALITY_KEYS
            ):
                errors.append(
                    f"run {attempt}: status {response.status_code}, {summary.get('count')}"
                )
            totals.append(total)
            growth_mb.append(max(0, peak - before) * 1024 / 1e6)
            print(
                f"  #{attempt}: plain loop {seconds:.2f} s; summary {total:.2f} s, "
                f"+{growth_mb[-1]:.1f} MB",
                flush=True,
            )
    ratio = median(totals) / median(baseline)
    rows = [
        ["60k summary with quality (all of org-andes)", "measured", "target", ""],
        ["plain fetch loop, total", f"{median(baseline):.2f} s", "", ""],
        ["summary.json, total", f"{median(totals):.2f} s", "", ""],
        [
            "summary / plain loop",
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
    print(f"Summary, API +{args.latency_ms} ms, medians of {args.repeats} runs:")
    print("\n".join(aligned(rows)))
    print(
        f"1-minute load average {load_before:.1f} before, {load_average():.1f} after.\n"
        f"Machine: {machine()}.\n"
        "Stack: gunicorn (1 worker, 4 threads, DJANGO_DEBUG=0) and the demo API on loopback; "
        "the scan's calls in flight adapt (CONTACTSHIP_SCAN_CALLS_START 2, at most "
        "CONTACTSHIP_MAX_CONCURRENT_CALLS 8 less CONTACTSHIP_RESERVED_CALLS 2)."
    )
    if errors:
        print("\nWRONG SUMMARIES (timings above are not meaningful):\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
