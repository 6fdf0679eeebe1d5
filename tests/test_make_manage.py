"""`make manage` talks to the `make run` under way (or says that none is), and
CONTACTSHIP_API_URL in the environment wins: the state file, the settings it gives, and a real
`manage.py` command against the demo API."""

import os
import subprocess
import sys

import pytest

from dashboard import demo_state
from tests.conftest import ORGANISATIONS, ROOT
from tests.test_settings import settings_module_under

NOBODY = "No `make run` is running"


def gone_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen(["true"])  # noqa: S607 - coreutils, only its pid matters
    process.wait()
    return process.pid


@pytest.fixture
def state(tmp_path):
    path = tmp_path / ".demo-run.json"
    demo_state.write(path, {"password": "x", "organisations": ORGANISATIONS})
    return path


def test_runs_come_and_go_and_the_most_recent_alive_is_the_one(state):
    dead = gone_pid()
    demo_state.add_run(state, {"pid": dead, "api_url": "http://127.0.0.1:1/v1"})
    assert demo_state.running(demo_state.read(state)) is None
    demo_state.add_run(state, {"pid": os.getppid(), "api_url": "http://127.0.0.1:2/v1"})
    demo_state.add_run(state, {"pid": os.getpid(), "api_url": "http://127.0.0.1:3/v1"})
    kept = demo_state.read(state)
    # The dead run was forgotten when another was added; the newest alive one wins.
    assert [run["pid"] for run in demo_state.runs(kept)] == [os.getppid(), os.getpid()]
    assert demo_state.running(kept)["api_url"] == "http://127.0.0.1:3/v1"
    demo_state.remove_run(state, os.getpid())
    assert demo_state.running(demo_state.read(state))["api_url"] == "http://127.0.0.1:2/v1"
    assert demo_state.read(state)["password"] == "x"  # the rest stays


def manage_settings(monkeypatch, state, **variables):
    for name in ("CONTACTSHIP_API_URL", "CONTACTSHIP_ORGANISATIONS"):
        monkeypatch.delenv(name, raising=False)
    return settings_module_under(
        monkeypatch, DASHBOARD_DEMO="1", DASHBOARD_DEMO_STATE=str(state), **variables
    )


def test_the_settings_follow_the_run_under_way(monkeypatch, state):
    demo_state.add_run(state, {"pid": os.getpid(), "api_url": "http://127.0.0.1:8101/v1"})
    loaded = manage_settings(monkeypatch, state)
    assert loaded.CONTACTSHIP_API_URL == "http://127.0.0.1:8101/v1"
    assert loaded.CONTACTSHIP_ORGANISATIONS == ORGANISATIONS
    assert loaded.DASHBOARD_DEMO_RUNNING is True


def test_the_environment_wins(monkeypatch, state):
    demo_state.add_run(state, {"pid": os.getpid(), "api_url": "http://127.0.0.1:8101/v1"})
    loaded = manage_settings(monkeypatch, state, CONTACTSHIP_API_URL="https://api.example/v1")
    assert loaded.CONTACTSHIP_API_URL == "https://api.example/v1"
    assert loaded.DASHBOARD_DEMO_RUNNING is True


def test_no_run_under_way_is_said(monkeypatch, state):
    demo_state.add_run(state, {"pid": gone_pid(), "api_url": "http://127.0.0.1:8101/v1"})
    loaded = manage_settings(monkeypatch, state)
    assert loaded.DASHBOARD_DEMO_RUNNING is False
    # Neither the dead run's address nor the real API's (with the demo's keys): none.
    assert loaded.CONTACTSHIP_API_URL == ""


def manage(state, *args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTSHIP_", "DASHBOARD_"))}
    env.update(DJANGO_DEBUG="1", DASHBOARD_DEMO="1", DASHBOARD_DEMO_STATE=str(state), **variables)
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.django_db
def test_a_command_talks_to_the_run_under_way_or_says_none_is(state, demo_api, tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    # This test's process stands for the `make run` whose demo API is `demo_api`.
    demo_state.add_run(state, {"pid": os.getpid(), "api_url": demo_api.base_url})
    answered = manage(state, "check_keys", DATABASE_URL=database)
    assert answered.returncode == 0, answered.stderr
    assert NOBODY not in answered.stderr
    tejo = next(line for line in answered.stdout.splitlines() if line.startswith("org-tejo"))
    assert tejo.endswith("ok")  # the demo API under way accepted the kept key

    demo_state.remove_run(state, os.getpid())
    alone = manage(state, "check", DATABASE_URL=database)
    assert NOBODY in alone.stderr
    assert "contacts.W005" in alone.stderr
    failed = manage(state, "check_keys", DATABASE_URL=database)
    assert failed.returncode != 0 and NOBODY in failed.stderr
