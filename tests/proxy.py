"""The deployment the documentation describes, on loopback: nginx over TLS in front of two replicas.

`proxy_base()` prepares what the replicas share: a TLS certificate made here (openssl), a
migrated SQLite database with a superuser, collected static files, a secret key, and the
organisations' keys for a demo Contactship API the caller runs. `proxied(base, api_url)` then
starts two gunicorn replicas of the dashboard with the production configuration
(dashboard/gunicorn.py, DJANGO_DEBUG=0, DASHBOARD_HTTPS=1) and nginx with
deploy/nginx/dashboard.conf.template filled by envsubst, inside a minimal nginx.conf written
here (pid, logs and temporary files in a temporary directory). Every port is a free one.

nginx's access log records which replica(s) answered each request (`$upstream_addr`), so a test
can see a retry, or its absence.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from contacts.demo.data import DEMO_ORGANISATIONS
from tests.live import (
    HOST,
    ROOT,
    StackError,
    _manage,
    _start,
    _tail,
    _wait_for_url,
    free_port,
    stop,
)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx" / "dashboard.conf.template"
TEMPLATE_ACCESS_LOG = "/var/log/nginx/dashboard.access.log"
PLACEHOLDERS = (
    "DASHBOARD_SERVER_NAME",
    "DASHBOARD_LISTEN",
    "DASHBOARD_TLS_CERT",
    "DASHBOARD_TLS_KEY",
    "DASHBOARD_UPSTREAMS",
)
SERVER_NAME = "dashboard.test"
USERNAME = "proxy-admin"


def require_nginx() -> str:
    """nginx's path; skips without it, except in CI, where a missing nginx fails the run."""
    if Path(NGINX).is_file() and os.access(NGINX, os.X_OK):
        return NGINX
    in_ci = os.environ.get("CI") == "true" or os.environ.get("DASHBOARD_BROWSER_TESTS") == "1"
    why = f"no nginx at {NGINX}: install Debian's nginx (`apt-get install nginx`)"
    if in_ci:
        pytest.fail(f"CI runs the proxy tests, but {why}", pytrace=False)
    pytest.skip(f"proxy tests skipped: {why}")


@dataclass
class ProxyBase:
    workdir: Path
    cert: Path
    key: Path
    env: dict[str, str]  # the replicas' environment, without the API's address
    organisations: dict[str, dict[str, str]]
    password: str = field(repr=False)

    @property
    def database(self) -> Path:
        return self.workdir / "db.sqlite3"

    def query(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(self.database, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def keys(self) -> dict[str, str]:
        return {org_id: entry["api_key"] for org_id, entry in self.organisations.items()}


def make_certificate(workdir: Path, names: Sequence[str]) -> tuple[Path, Path]:
    cert, key = workdir / "tls.crt", workdir / "tls.key"
    san = ",".join([*(f"DNS:{n}" for n in names), f"IP:{HOST}"])
    subprocess.run(  # noqa: S603
        [
            shutil.which("openssl") or "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={names[0]}",
            "-addext",
            f"subjectAltName={san}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextmanager
def proxy_base(
    org_ids: Sequence[str] = ("org-tejo", "org-harbor"),
    env: Mapping[str, str] | None = None,
    names: Sequence[str] = (SERVER_NAME, "localhost"),
) -> Iterator[ProxyBase]:
    workdir = Path(tempfile.mkdtemp(prefix="contacts-proxy-"))
    try:
        # nginx's workers (not root) read the certificate; the directory must let them in.
        workdir.chmod(0o755)
        cert, key = make_certificate(workdir, names)
        organisations = {
            org_id: DEMO_ORGANISATIONS[org_id].setting("proxy-" + secrets.token_urlsafe(18))
            for org_id in org_ids
        }
        password = secrets.token_urlsafe(18)
        replica_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "CONTACTSHIP_ORGANISATIONS": json.dumps(organisations),
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "REDIS_URL": "",
            "DJANGO_DEBUG": "0",
            # One key for every replica: a session made by one is read by the other.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{','.join(names)},{HOST}",
            "DASHBOARD_HTTPS": "1",
            "DASHBOARD_TRUSTED_PROXIES": HOST,
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
            "CONTACTSHIP_RETRIES": "0",
            "CONTACTSHIP_BREAKER_THRESHOLD": "1000",
            # Pages wait for their answer, however slow the API is made: the first paint has tests
            # of its own (tests/test_first_paint.py, tests/browser/test_first_paint.py).
            "DASHBOARD_FIRST_PAINT_SECONDS": "30",
            **(env or {}),
        }
        _manage(["migrate", "--noinput"], replica_env)
        _manage(["collectstatic", "--noinput", "-v0"], replica_env)
        _manage(
            ["createsuperuser", "--noinput"],
            {
                **replica_env,
                "DJANGO_SUPERUSER_USERNAME": USERNAME,
                "DJANGO_SUPERUSER_PASSWORD": password,
                "DJANGO_SUPERUSER_EMAIL": "proxy-admin@example.com",
            },
        )
        yield ProxyBase(workdir, cert, key, replica_env, organisations, password)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def render_template(values: Mapping[str, str]) -> str:
    """The template filled as an administrator would: envsubst with exactly the placeholders."""
    envsubst = shutil.which("envsubst")
    text = TEMPLATE.read_text()
    if envsubst is None:  # the same substitution, for a machine without gettext
        for name in PLACEHOLDERS:
            text = text.replace("${" + name + "}", values[name])
        return text
    shell_format = " ".join("${" + name + "}" for name in PLACEHOLDERS)
    result = subprocess.run(  # noqa: S603
        [envsubst, shell_format],
        input=text,
        env={**os.environ, **values},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout


@dataclass
class Replica:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def kill(self) -> None:
        """SIGKILL to the whole replica, master and workers: a machine lost, not a stop."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Proxied:
    base: ProxyBase
    url: str  # https://127.0.0.1:PORT, through nginx
    port: int
    replicas: list[Replica]
    workdir: Path

    def path(self, path: str) -> str:
        return self.url + path

    def session(self) -> requests.Session:
        session = requests.Session()
        # Not the environment's CA bundle or proxy: this certificate, straight to loopback.
        session.trust_env = False
        session.verify = str(self.base.cert)
        return session

    def login(self, origin: str | None = None) -> requests.Session:
        """Log in through the proxy's login form, sending Origin and Referer as a browser does."""
        session = self.session()
        login_url = self.path("/accounts/login/")
        session.get(login_url, timeout=30).raise_for_status()
        response = session.post(
            login_url,
            data={
                "username": USERNAME,
                "password": self.base.password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Origin": origin or self.url, "Referer": login_url},
            timeout=30,
            allow_redirects=False,
        )
        if response.status_code != 302 or "sessionid" not in session.cookies:
            raise StackError(f"login through the proxy failed: {response.status_code}")
        return session

    def access_log(self) -> list[dict]:
        """nginx's access log: one dict per request (uri, status, upstream addresses)."""
        path = self.workdir / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def dashboard_access_log(self) -> list[str]:
        """The template's own access log (its `dashboard_access` format), line by line."""
        path = self.workdir / "dashboard.access.log"
        return path.read_text().splitlines() if path.exists() else []

    def error_log(self) -> str:
        return _tail(self.workdir / "error.log", 100)


NGINX_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    log_format probe escape=json '{{"uri": "$request_uri", "status": "$status", '
        '"upstream": "$upstream_addr", "upstream_status": "$upstream_status"}}';
    access_log {dir}/access.log probe;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/dashboard.conf;
{extra}
}}
"""


def start_replica(
    base: ProxyBase, api_url: str, workdir: Path, name: str, env: Mapping[str, str]
) -> Replica:
    port = free_port()
    log = workdir / f"{name}.log"
    process = _start(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "python:dashboard.gunicorn",
            "dashboard.wsgi:application",
        ],
        {
            **base.env,
            "CONTACTSHIP_API_URL": api_url,
            "GUNICORN_BIND": f"{HOST}:{port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "6",
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            **env,
        },
        log,
    )
    return Replica(port, process, log)


@contextmanager
def proxied(
    base: ProxyBase,
    api_url: str,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    extra_http: str = "",
) -> Iterator[Proxied]:
    """Two replicas and nginx in front of them, for the `with` block.

    port: nginx's (default: a free one); env: more environment for the replicas; extra_http:
    more nginx configuration for the `http {}` block (`{dir}` is the temporary directory).
    """
    nginx = require_nginx()
    workdir = Path(tempfile.mkdtemp(prefix="contacts-nginx-"))
    workdir.chmod(0o755)
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        replicas = []
        for name in ("replica-a", "replica-b"):
            replica = start_replica(base, api_url, workdir, name, env or {})
            cleanup.callback(stop, replica.process)
            replicas.append(replica)
        for replica in replicas:
            # /healthz answers before the HTTPS redirect: a probe over plain HTTP by address.
            _wait_for_url(
                replica.process, f"http://{replica.address}/healthz", replica.log, "a replica"
            )

        port = port or free_port()
        conf = render_template(
            {
                "DASHBOARD_SERVER_NAME": f"{SERVER_NAME} localhost {HOST}",
                "DASHBOARD_LISTEN": f"{HOST}:{port} ssl",
                "DASHBOARD_TLS_CERT": str(base.cert),
                "DASHBOARD_TLS_KEY": str(base.key),
                "DASHBOARD_UPSTREAMS": " ".join(f"server {r.address};" for r in replicas),
            }
        )
        # The template's access log, in the work directory, beside the tests' own.
        conf = conf.replace(
            f"access_log {TEMPLATE_ACCESS_LOG} dashboard_access;",
            f"access_log {workdir}/access.log probe; "
            f"access_log {workdir}/dashboard.access.log dashboard_access;",
        )
        assert f"{workdir}/dashboard.access.log" in conf, "the template's access_log moved"
        (workdir / "dashboard.conf").write_text(conf)
        user = "user root;" if os.geteuid() == 0 else ""
        (workdir / "nginx.conf").write_text(
            NGINX_CONF.format(
                user=user, dir=workdir, extra=extra_http.replace("{dir}", str(workdir))
            )
        )
        process = _start(
            [nginx, "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", "nginx.conf"],
            os.environ,
            workdir / "nginx.out",
        )
        cleanup.callback(stop, process)
        url = f"https://{HOST}:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/healthz", verify=str(base.cert), timeout=5)
                break
            except requests.RequestException as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = _tail(workdir / "nginx.out", 20) + _tail(workdir / "error.log", 20)
                    raise StackError(f"nginx did not start: {exc}\n{output}") from exc
                time.sleep(0.1)
        yield Proxied(base, url, port, replicas, workdir)
