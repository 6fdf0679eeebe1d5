"""`make run` and `make serve`: the whole product on this machine, with the demo Contactship API.

Checks that both ports are free (a busy one fails at once, before anything starts), migrates,
starts the demo API, creates the demo login with export rights in every demo organisation,
starts the dashboard and prints where to log in. The demo's password and keys are kept between
runs in `.demo-run.json` (git-ignored, readable by its owner only) so that a second run, or a
second instance, does not break the first's login, and so that `make manage` can give
`manage.py` commands the demo organisations; `--new-password` makes new ones.

If CONTACTSHIP_API_URL is set (environment or .env), that API and the configured organisations
are used instead, and no demo API is started. Unless DASHBOARD_OIDC_ISSUER is set, a demo
identity provider (contacts.demo.oidc_provider) is started too, with two demo people in
different groups: the login page leads with "Sign in with the demo identity provider".
`--production` serves it as in production: DJANGO_DEBUG=0, hashed and compressed static files,
dashboard/gunicorn.py.
"""

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from contacts.demo.data import DEMO_ORGANISATIONS
from contacts.models import Membership
from dashboard import demo_state

DEMO_USERNAME = "demo"
# The demo identity provider's people and the groups that give them organisations.
DEMO_PEOPLE = {
    "ana": {
        "preferred_username": "ana",
        "email": "ana@demo.example",
        "given_name": "Ana",
        "family_name": "Lima",
        "groups": ["sales"],
    },
    "bruno": {
        "preferred_username": "bruno",
        "email": "bruno@demo.example",
        "given_name": "Bruno",
        "family_name": "Costa",
        "groups": ["sales-leads", "research"],
    },
}
DEMO_GROUP_MEMBERSHIPS = {
    "sales": ["org-tejo"],
    "sales-leads": ["org-tejo:export", "org-harbor:export"],
    "research": ["org-andes"],
}
# The demo's password, keys and API address, kept between runs (see the module's docstring).
DEMO_STATE = Path(settings.DASHBOARD_DEMO_STATE)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (binding it is refused)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As servers bind: a port in TIME_WAIT after a stop is free; a listening one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(host: str, ports: list[tuple[str, int]]) -> None:
    for what, number in ports:
        if port_in_use(host, number):
            raise CommandError(
                f"Port {number} on {host} (for the {what}) is already in use, perhaps by "
                "another `make run`. Stop it, or choose free ports: "
                "make run PORT=8010 API_PORT=8011 OIDC_PORT=8012"
            )


def read_demo_state() -> dict:
    return demo_state.read(DEMO_STATE)


def write_demo_state(state: dict) -> None:
    """The kept password and keys; the runs under way stay as they are."""
    demo_state.write(DEMO_STATE, {**state, demo_state.RUNS: demo_state.runs(read_demo_state())})


class Command(BaseCommand):
    help = "Run the dashboard with the bundled demo Contactship API (what `make run` does)."
    # The dashboard it starts runs the checks, with the organisations this command gives it.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="the dashboard's port")
        parser.add_argument("--api-port", type=int, default=8001, help="the demo API's port")
        parser.add_argument(
            "--oidc-port", type=int, default=8002, help="the demo identity provider's port"
        )
        parser.add_argument(
            "--demo-args",
            default="",
            help='extra flags for the demo API, e.g. --demo-args="--latency-ms 800"',
        )
        parser.add_argument(
            "--new-password",
            action="store_true",
            help="give the demo login a new password (and the demo organisations new keys)",
        )
        parser.add_argument(
            "--production",
            action="store_true",
            help="serve as in production (make serve): DJANGO_DEBUG=0, collected and compressed "
            "static files, gunicorn with dashboard/gunicorn.py; plain HTTP on loopback",
        )

    def handle(
        self,
        *args,
        host: str,
        port: int,
        api_port: int,
        demo_args: str,
        oidc_port: int = 8002,
        production: bool,
        new_password: bool = False,
        **opts,
    ):
        use_demo = "CONTACTSHIP_API_URL" not in os.environ
        use_demo_oidc = "DASHBOARD_OIDC_ISSUER" not in os.environ
        # Before anything starts: a busy port would otherwise answer the readiness check with
        # another program (or another run) and print a login that does not work.
        ports = [("dashboard", port)] + ([("demo API", api_port)] if use_demo else [])
        check_ports(host, ports + ([("demo identity provider", oidc_port)] * use_demo_oidc))
        state = {} if new_password else read_demo_state()
        call_command("migrate", interactive=False, verbosity=0)
        env = os.environ.copy()
        processes: list[subprocess.Popen] = []

        def stop(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            if use_demo:
                kept = state.get("organisations") or {}
                organisations = {
                    org.id: org.setting(
                        (kept.get(org.id) or {}).get("api_key") or secrets.token_urlsafe(24)
                    )
                    for org in DEMO_ORGANISATIONS.values()
                }
                env["CONTACTSHIP_ORGANISATIONS"] = json.dumps(organisations)
                env["CONTACTSHIP_API_URL"] = f"http://{host}:{api_port}/v1"
                self.stdout.write("Starting the demo Contactship API (generating its contacts)…")
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [
                            sys.executable,
                            "-m",
                            "contacts.demo",
                            "--host",
                            host,
                            "--port",
                            str(api_port),
                            *shlex.split(demo_args),
                        ],
                        env=env,
                    )
                )
                self._wait_for(f"http://{host}:{api_port}/healthz", processes[-1])
                org_ids = list(organisations)
            else:
                org_ids = list(settings.CONTACTSHIP_ORGANISATIONS)

            if use_demo_oidc:
                self._start_identity_provider(host, oidc_port, env, processes)
            password = self._demo_login(org_ids, state.get("password"))
            write_demo_state(
                {"password": password, "organisations": organisations if use_demo else {}}
            )
            # gunicorn rather than runserver: it sends streamed exports chunked, so a download
            # cut short by an upstream failure shows as failed in the browser, as in production.
            gunicorn = [
                str(Path(sys.executable).with_name("gunicorn")),
                "dashboard.wsgi:application",
                "--config=python:dashboard.gunicorn",
                f"--bind={host}:{port}",
            ]
            if production:
                env.update(DJANGO_DEBUG="0", DASHBOARD_HTTPS=env.get("DASHBOARD_HTTPS", "0"))
                env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
                subprocess.run(
                    [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                    env=env,
                    cwd=Path(settings.BASE_DIR),
                    check=True,
                )
            else:
                gunicorn += ["--workers=1", "--reload"]
                env.setdefault("DASHBOARD_DESIGNED_ERRORS", "1")
            processes.append(
                subprocess.Popen(gunicorn, env=env, cwd=Path(settings.BASE_DIR))  # noqa: S603
            )
            self._wait_for(f"http://{host}:{port}/accounts/login/", processes[-1])
            if use_demo:
                # `make manage` talks to this run while it is under way.
                run = {"pid": os.getpid(), "api_url": env["CONTACTSHIP_API_URL"]}
                demo_state.add_run(DEMO_STATE, {**run, "dashboard_url": f"http://{host}:{port}/"})
            self.stdout.write(
                self.style.SUCCESS(
                    "\n  Contacts dashboard: "
                    f"http://{host}:{port}/\n"
                    f"  Log in as:          {DEMO_USERNAME} / {password}\n"
                    + (
                        "  Or sign in with the demo identity provider as ana (sales: org-tejo)\n"
                        "  or bruno (sales-leads, research: org-tejo and org-harbor with\n"
                        "  downloads, org-andes)\n"
                        if use_demo_oidc
                        else ""
                    )
                    + f"  Contactship API:    {env['CONTACTSHIP_API_URL']}"
                    f"{' (bundled demo)' if use_demo else ''}\n"
                    "  Stop with Ctrl-C.\n"
                )
            )
            self.stdout.flush()  # shown at once even when the output is piped
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            raise CommandError("A server stopped; see its messages above.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            demo_state.remove_run(DEMO_STATE, os.getpid())
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _start_identity_provider(
        self, host: str, port: int, env: dict, processes: list[subprocess.Popen]
    ) -> None:
        """The demo identity provider, and the dashboard's OIDC settings pointing at it."""
        issuer = f"http://{host}:{port}"
        people = [f"{sub}={json.dumps(claims)}" for sub, claims in DEMO_PEOPLE.items()]
        command = [sys.executable, "-m", "contacts.demo.oidc_provider", "--host", host]
        command += ["--port", str(port), *(arg for p in people for arg in ("--user", p))]
        self.stdout.write("Starting the demo identity provider…")
        processes.append(subprocess.Popen(command, env=env))  # noqa: S603 - our own module
        self._wait_for(f"{issuer}/.well-known/openid-configuration", processes[-1])
        env.update(
            DASHBOARD_OIDC_ISSUER=issuer,
            DASHBOARD_OIDC_CLIENT_ID="contacts-dashboard-demo",
            DASHBOARD_OIDC_CLIENT_SECRET=secrets.token_urlsafe(24),
            DASHBOARD_OIDC_NAME=env.get("DASHBOARD_OIDC_NAME", "the demo identity provider"),
        )
        env.setdefault("DASHBOARD_GROUP_MEMBERSHIPS", json.dumps(DEMO_GROUP_MEMBERSHIPS))
        env.setdefault("DASHBOARD_ACCESS_CONTACT", "the demo's administrator")

    def _wait_for(self, url: str, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"The server for {url} exited (is the port already in use?).")
            try:
                # Any answer will do; the standard library's client, since only the upstream
                # package imports requests.
                with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own http URL
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"No answer from {url} after {timeout:.0f} s.")

    def _demo_login(self, org_ids: list[str], kept: str | None) -> str:
        """The demo user, a member of every organisation, with the kept password if it still
        is the user's (else a new one)."""
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME)
        if kept and user.check_password(kept):
            password = kept
        else:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save()
        for org_id in org_ids:
            Membership.objects.update_or_create(
                user=user, organisation_id=org_id, defaults={"can_export": True}
            )
        return password
