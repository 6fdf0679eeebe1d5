"""What `make run` keeps for the next run and for `make manage`: `.demo-run.json`.

Git-ignored and readable by its owner only. It holds the demo login's password, the demo
organisations with their keys (kept between runs), and the runs under way: each `make run` that
started the demo API adds itself (its process id, its API's and dashboard's addresses) and takes
itself out when it stops. `make manage` (DASHBOARD_DEMO=1) talks to the most recent run still
alive; a run killed before it could take itself out is recognised by its process being gone.
"""

import json
import os
from pathlib import Path

RUNS = "runs"


def read(path: Path) -> dict:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write(path: Path, state: dict) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")


def alive(pid: object) -> bool:
    """Whether a process with this id runs (signal 0 checks without sending anything)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but one
    return True


def runs(state: dict) -> list[dict]:
    """The runs under way, oldest first."""
    listed = state.get(RUNS)
    return [run for run in listed if isinstance(run, dict)] if isinstance(listed, list) else []


def running(state: dict) -> dict | None:
    """The most recent run whose process is alive, or None."""
    return next((run for run in reversed(runs(state)) if alive(run.get("pid"))), None)


def add_run(path: Path, run: dict) -> None:
    """Record `run` (with its `pid`) as under way, forgetting runs whose process is gone."""
    state = read(path)
    state[RUNS] = [r for r in runs(state) if alive(r.get("pid")) and r.get("pid") != run["pid"]]
    state[RUNS].append(run)
    write(path, state)


def remove_run(path: Path, pid: int) -> None:
    state = read(path)
    if any(run.get("pid") == pid for run in runs(state)):
        state[RUNS] = [run for run in runs(state) if run.get("pid") != pid]
        write(path, state)
