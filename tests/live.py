"""The real stack on loopback, for end-to-end tests and benchmarks.

`live_stack()` starts the bundled demo Contactship API as a subprocess (optionally with fault
flags), prepares a throwaway SQLite database in a temporary directory (migrations and a
superuser, who sees every organisation with the export right), and starts the dashboard under
gunicorn pointed at that API, both on free loopback ports. It yields a `LiveStack` with their
addresses, a way to log in, and the gunicorn worker's pid for reading its memory from `/proc`.
Leaving the `with` block stops both servers (terminate, wait, kill after a timeout) and removes
the temporary directory.

Keys, the superuser's password and the secret key are made fresh for each stack and only passed
to the child processes through their environment: none is written to a file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

from contacts.demo.data import DEMO_ORGANISATIONS, organisation

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_LINE = re.compile(r"Demo Contactship API on (http://\S+/v1)")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
USERNAME = "live-admin"


class StackError(RuntimeError):
    """A server of the live stack did not start or a step of its set-up failed."""


@dataclass
class LiveStack:
    """A running demo API and dashboard. Build it with `live_stack()`."""

    api_url: str  # the demo API's base URL, including /v1
    dashboard_url: str  # the dashboard's root, without a trailing slash
    organisations: dict[str, dict[str, str]]  # the dashboard's CONTACTSHIP_ORGANISATIONS
    username: str
    password: str = field(repr=False)
    workdir: Path
    api_process: subprocess.Popen = field(repr=False)
    gunicorn_process: subprocess.Popen = field(repr=False)
    env: dict[str, str] = field(repr=False, default_factory=dict)  # the dashboard's environment

    def url(self, path: str) -> str:
        """The dashboard's address of `path` (which starts with a slash)."""
        return self.dashboard_url + path

    def export_url(self, org_id: str) -> str:
        return self.url(f"/orgs/{org_id}/contacts/export.csv")

    def api_key(self, org_id: str) -> str:
        return self.organisations[org_id]["api_key"]

    def login(self) -> requests.Session:
        """A session logged in as the superuser through the login form."""
        session = requests.Session()
        login_url = self.url("/accounts/login/")
        form = session.get(login_url, timeout=10)
        form.raise_for_status()
        token = session.cookies.get("csrftoken")
        if not token:
            raise StackError("the login page set no csrftoken cookie")
        response = session.post(
            login_url,
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": login_url},
            timeout=10,
        )
        response.raise_for_status()
        if "sessionid" not in session.cookies:
            raise StackError(f"login failed (status {response.status_code}, at {response.url})")
        return session

    def add_member(self, username: str, password: str, org_id: str, *, can_export: bool) -> None:
        """Another user, a member of `org_id` (the password goes through the environment)."""
        code = (
            "import os; from django.contrib.auth import get_user_model; "
            "from contacts.models import Membership; "
            "user = get_user_model().objects.create_user("
            "os.environ['LIVE_USERNAME'], password=os.environ['LIVE_PASSWORD']); "
            "Membership.objects.create(user=user, organisation_id=os.environ['LIVE_ORG'], "
            "can_export=os.environ['LIVE_EXPORT'] == '1')"
        )
        extra = {
            "LIVE_USERNAME": username,
            "LIVE_PASSWORD": password,
            "LIVE_ORG": org_id,
            "LIVE_EXPORT": "1" if can_export else "0",
        }
        _manage(["shell", "-c", code], {**self.env, **extra})

    def login_as(self, username: str, password: str) -> requests.Session:
        """A session logged in as `username` through the login form."""
        session = requests.Session()
        login_url = self.url("/accounts/login/")
        session.get(login_url, timeout=10).raise_for_status()
        response = session.post(
            login_url,
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
            },
            headers={"Referer": login_url},
            timeout=10,
        )
        if "sessionid" not in session.cookies:
            raise StackError(f"login failed (status {response.status_code}, at {response.url})")
        return session

    def worker_pid(self, timeout: float = 10.0) -> int:
        """The pid of the gunicorn worker (the first, with several)."""
        return self.worker_pids(1, timeout)[0]

    def worker_pids(self, count: int = 1, timeout: float = 10.0) -> list[int]:
        """The pids of the gunicorn workers, once at least `count` of them run."""
        deadline = time.monotonic() + timeout
        while True:
            children = child_pids(self.gunicorn_process.pid)
            if len(children) >= count:
                return children
            if self.gunicorn_process.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"gunicorn has fewer than {count} worker processes")
            time.sleep(0.05)

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines a server wrote (name: "api" or "gunicorn")."""
        return _tail(self.workdir / f"{name}.log", lines)


# --- /proc ---------------------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """The children of `pid`, from /proc/<pid>/task/*/children, else by scanning /proc/*/stat."""
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children.extend(int(p) for p in (task / "children").read_text().split())
    except OSError:
        children = []
    if children:
        return sorted(children)
    # Kernels without CONFIG_PROC_CHILDREN: the fourth field of /proc/<pid>/stat is the ppid.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (second field) is in parentheses and may hold spaces or ")".
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(after_name[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def memory_kib(pid: int) -> dict[str, int]:
    """The Vm* lines of /proc/<pid>/status in KiB, e.g. {"VmRSS": ..., "VmHWM": ...}."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("Vm") and rest.strip().endswith("kB"):
            values[name] = int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM (peak RSS) of `pid` to its current RSS; False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- starting and stopping -----------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _start(args: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and programs
            list(args),
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: a kill after the timeout reaches the gunicorn worker too.
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Terminate `process`, wait, and kill its process group if it does not end in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def _wait_for_line(process: subprocess.Popen, log: Path, pattern: re.Pattern, what: str) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        found = pattern.search(log.read_text(errors="replace")) if log.exists() else None
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise StackError(f"{what} exited with {process.returncode}:\n{_tail(log, 30)}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not start in {START_TIMEOUT:.0f} s:\n{_tail(log, 30)}")
        time.sleep(0.05)


def _wait_for_url(process: subprocess.Popen, url: str, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None:
            raise StackError(f"{what} exited with {process.returncode}:\n{_tail(log, 30)}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} gave no answer at {url}:\n{_tail(log, 30)}")
        time.sleep(0.1)


def _manage(args: Sequence[str], env: Mapping[str, str]) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise StackError(f"manage.py {args[0]} failed ({result.returncode}):\n{output}")


@contextmanager
def live_stack(
    *,
    demo_args: Sequence[str] = (),
    org_ids: Sequence[str] | None = None,
    threads: int = 4,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    gunicorn_args: Sequence[str] = (),
) -> Iterator[LiveStack]:
    """Run the demo API and the dashboard under gunicorn for the `with` block.

    demo_args: fault flags for the demo API, e.g. ["--fail-from-offset", "300"].
    org_ids: the organisations to configure (default: every demo organisation); fewer start
        faster, since the demo API generates each organisation's contacts before it answers.
    env: extra environment for the dashboard, e.g. {"CONTACTSHIP_READ_TIMEOUT": "5"}.
    gunicorn_args: more gunicorn options, after (and so winning over) the stack's own, e.g.
        ["-c", "python:dashboard.gunicorn"] for the production configuration's hooks.
    """
    org_ids = list(org_ids or DEMO_ORGANISATIONS)
    organisations = {
        org_id: organisation(org_id).setting("live-" + secrets.token_urlsafe(18))
        for org_id in org_ids
    }
    password = secrets.token_urlsafe(18)
    workdir = Path(tempfile.mkdtemp(prefix="contacts-live-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        base_env = {
            **os.environ,
            "CONTACTSHIP_ORGANISATIONS": json.dumps(organisations),
            "PYTHONUNBUFFERED": "1",
        }

        api_log = workdir / "api.log"
        api = _start(
            [sys.executable, "-m", "contacts.demo", "--host", HOST, "--port", "0", *demo_args],
            base_env,
            api_log,
        )
        cleanup.callback(stop, api)
        api_url = _wait_for_line(api, api_log, STARTUP_LINE, "the demo API")
        _wait_for_url(api, api_url.removesuffix("/v1") + "/healthz", api_log, "the demo API")

        dashboard_env = {
            **base_env,
            # The environment wins over a developer's .env file, so every relevant value is set.
            "CONTACTSHIP_API_URL": api_url,
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "DJANGO_DEBUG": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "DASHBOARD_HTTPS": "0",
            "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            # Pages wait for their answer, however slow the API is made and busy the machine: the
            # first paint, a page shown before Contactship answered, has tests of its own
            # (tests/test_first_paint.py, tests/browser/test_first_paint.py).
            "DASHBOARD_FIRST_PAINT_SECONDS": "30",
            **(env or {}),
        }
        _manage(["migrate", "--noinput"], dashboard_env)
        if dashboard_env["DJANGO_DEBUG"] == "0":
            # Production settings serve hashed static files, which must be collected first.
            dashboard_env["DJANGO_STATIC_ROOT"] = str(workdir / "static")
            _manage(["collectstatic", "--noinput", "-v0"], dashboard_env)
        _manage(
            ["createsuperuser", "--noinput"],
            {
                **dashboard_env,
                "DJANGO_SUPERUSER_USERNAME": USERNAME,
                "DJANGO_SUPERUSER_PASSWORD": password,
                "DJANGO_SUPERUSER_EMAIL": "live-admin@example.com",
            },
        )

        gunicorn_log = workdir / "gunicorn.log"
        port = free_port()
        gunicorn = _start(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "dashboard.wsgi:application",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                # Exports longer than the default 30 s are fine: the gthread worker keeps
                # notifying the master while its threads stream.
                "--graceful-timeout",
                "5",
                # Gunicorn's control socket defaults to one path in the home directory, shared
                # by every gunicorn of the user; a stack for tests needs none.
                "--no-control-socket",
                *gunicorn_args,
            ],
            dashboard_env,
            gunicorn_log,
        )
        cleanup.callback(stop, gunicorn)
        dashboard_url = f"http://{HOST}:{port}"
        _wait_for_url(gunicorn, dashboard_url + "/accounts/login/", gunicorn_log, "gunicorn")

        yield LiveStack(
            api_url=api_url,
            dashboard_url=dashboard_url,
            organisations=organisations,
            username=USERNAME,
            password=password,
            workdir=workdir,
            api_process=api,
            gunicorn_process=gunicorn,
            env=dashboard_env,
        )
