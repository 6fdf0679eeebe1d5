"""The search page of two trees of the dashboard side by side: is a change worth its milliseconds?

    git worktree add --detach ../before HEAD~1
    .venv/bin/python -m tests.benchmarks.compare_pages ../before [--repeats 80] [--rounds 2]

`bench_pages` (a) gives the page against a direct API call, but runs one tree at a time: run it
for each tree and the machine's speed drifts in between (on a shared machine, by a millisecond
or more), which hides any change worth less. Here both trees serve at once, each as
`tests.live` starts the dashboard (its own demo API adding 50 ms, gunicorn with 2 workers of 4
threads, DJANGO_DEBUG=0): the tree given (`before`) through gunicorn's `--chdir`, and this one
(`after`). Their requests alternate, one of each in turn, so drift reaches both alike:

- the search page with `refresh=1` (the API asked), against a direct call of its API, as (a);
- the same page answered from the dashboard's cache, as (c).

Whichever stack starts second measured up to 0.5 ms faster in runs of one tree against itself,
so each round runs twice, the stacks started in both orders, and the difference printed is the
mean of the two. Differences below about 0.3 ms are noise on a shared 2-core machine.

Limits: both trees share this tree's database set-up (its migrations and demo data) and demo
API, so compare trees whose migrations agree. It measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import requests

from tests.benchmarks.bench_pages import (
    LATENCY_PAGE_MS,
    ORG_ID,
    PAGE_SIZE,
    PRODUCTION,
    ROW_LINK,
    SEARCH,
    api_session,
    page_url,
)
from tests.live import ROOT, live_stack

TREES = ("before", "after")


def _timed(call) -> float:
    started = time.perf_counter()
    response = call()
    response.content  # noqa: B018 - the whole body, within the time
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{response.url} answered {response.status_code}")
    if "/orgs/" in response.url and len(ROW_LINK.findall(response.content)) != PAGE_SIZE:
        raise SystemExit(f"{response.url} did not show {PAGE_SIZE} contacts")
    return elapsed


def one_round(before: Path, repeats: int, *, after_first: bool) -> dict[str, dict[str, float]]:
    """Median milliseconds of each measure for each tree, the stacks started in the given order."""
    directories = {"before": before, "after": ROOT}
    order = ("after", "before") if after_first else TREES
    with ExitStack() as stacks:
        stack = {
            tree: stacks.enter_context(
                live_stack(
                    org_ids=[ORG_ID],
                    demo_args=["--latency-ms", str(LATENCY_PAGE_MS)],
                    workers=2,
                    threads=4,
                    env=PRODUCTION,
                    gunicorn_args=["--chdir", str(directories[tree])],
                )
            )
            for tree in order
        }
        calls = {}
        for tree, live in stack.items():
            user, api = live.login(), api_session(live)
            fresh = page_url(live, SEARCH, refresh=True)
            cached = page_url(live, SEARCH, refresh=False)
            params = {**SEARCH, "limit": PAGE_SIZE, "offset": 0}
            calls[tree] = {
                "api": partial(api.get, live.api_url + "/contacts", params=params),
                "fresh": partial(user.get, fresh),
                "cached": partial(user.get, cached),
            }
        for tree_calls in calls.values():  # warm-up: connections, first renders
            for _ in range(3):
                for call in tree_calls.values():
                    _timed(call)
        samples: dict[str, dict[str, list[float]]] = {
            tree: {name: [] for name in ("api", "fresh", "cached")} for tree in TREES
        }
        for index in range(repeats):
            for tree in TREES if index % 2 == 0 else TREES[::-1]:
                for name, call in calls[tree].items():
                    samples[tree][name].append(_timed(call))
    return {
        tree: {name: statistics.median(values) for name, values in measures.items()}
        for tree, measures in samples.items()
    }


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:+.2f}" for value in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the other tree (a git worktree)")
    parser.add_argument("--repeats", type=int, default=80, help="requests of each kind a tree")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each in both orders")
    args = parser.parse_args(argv)
    before = args.before.resolve()
    if not (before / "dashboard" / "wsgi.py").is_file():
        parser.error(f"{before} is not a tree of the dashboard")
    added: list[float] = []
    cached: list[float] = []
    for number in range(1, args.rounds + 1):
        for after_first in (False, True):
            medians = one_round(before, args.repeats, after_first=after_first)
            started = "after" if after_first else "before"
            for tree in TREES:
                m = medians[tree]
                print(
                    f"round {number}, {started} started first: {tree:6} "
                    f"API {m['api']:.2f} ms, page {m['fresh']:.2f} ms "
                    f"({m['fresh'] / m['api']:.3f}x, +{m['fresh'] - m['api']:.2f} ms), "
                    f"cached page {m['cached']:.2f} ms",
                    flush=True,
                )
            b, a = medians["before"], medians["after"]
            added.append((a["fresh"] - a["api"]) - (b["fresh"] - b["api"]))
            cached.append(a["cached"] - b["cached"])
    print(
        f"after - before, mean of {len(added)} runs: "
        f"time the page adds {statistics.mean(added):+.2f} ms ({_listed(added)}); "
        f"cached page {statistics.mean(cached):+.2f} ms ({_listed(cached)})"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except requests.RequestException as exc:
        sys.exit(f"a request failed: {type(exc).__name__}")
