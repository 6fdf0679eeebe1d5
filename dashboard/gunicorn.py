"""gunicorn settings for production: `gunicorn -c python:dashboard.gunicorn dashboard.wsgi`.

Every value can be overridden by its GUNICORN_* variable (or on the command line).

Draining. On SIGTERM the master closes its copy of the listening socket and passes the signal
to each worker; a gthread worker then stops accepting but keeps its own copy open until its
in-flight requests end (up to `graceful_timeout`), so the kernel keeps completing connections
that nobody will ever accept: they hang until the worker exits. `post_worker_init` below makes
each worker, on SIGTERM, (1) fail readiness at once (`/readyz` answers 503 on connections it
still serves) and (2) close its copy of the listening socket, so once every worker of the
replica has done so the port refuses new connections (a proxy moves on to another replica at
once) while requests already running finish. A worker restarted alone (max requests, HUP)
only closes its own copy: its siblings keep the socket open and keep serving.

Metrics. prometheus_client counts in multiprocess mode: each worker writes its own files in one
directory, and `/metrics` sums them whichever worker answers. `on_starting` (in the master,
before any worker forks) chooses that directory, PROMETHEUS_MULTIPROC_DIR when set (two replicas
on one host each set their own) or else a fresh temporary one, empties it of an earlier run's
files and exports it to the workers through the environment; `child_exit` marks a dead worker's
live gauges gone, and `on_exit` removes a temporary directory.
"""

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

import environ

from contacts.log import log_format

# The settings' own reading of the environment and the project's .env file (the environment
# wins), so that gunicorn's lines take the same DASHBOARD_LOG_FORMAT as the dashboard's.
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
_env = environ.Env()

_cpus = os.cpu_count() or 1

# Loopback unless told otherwise: only a proxy on the same machine reaches it. To let a proxy on
# another machine in, bind the address it connects to, e.g. GUNICORN_BIND=10.0.0.11:8000.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests spend their time waiting for Contactship, so threads do the waiting and processes
# only add CPU: one worker per core, each with enough threads for its share of users.
workers = int(os.environ.get("GUNICORN_WORKERS", _cpus))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# A request ends within CONTACTSHIP_DEADLINE (20 s by default) plus rendering; the timeout only
# catches a worker whose main loop is stuck (a gthread worker's heartbeat keeps beating while a
# thread streams a long export).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Longer than the load balancer's idle timeout, so gunicorn never closes a connection the
# balancer is about to reuse.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
accesslog = "-"
# gunicorn's default line has the query string and the referrer, which carry what people type
# into the search's filters: the path alone, and no referrer.
# The request id is the one the dashboard answered with (its X-Request-ID header).
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s"
)
errorlog = "-"
# DASHBOARD_LOG_FORMAT=json (the default with DJANGO_DEBUG=0): gunicorn's access and error lines
# are JSON objects by the dashboard's own formatter, so that a log system reads every line of the
# server with one parser. The access line's fields come from gunicorn's atoms, never the query
# string or a request header (contacts.log.JsonFormatter). `text`: gunicorn's plain lines.
_format = _env.str("DASHBOARD_LOG_FORMAT", default="")
LOG_FORMAT = log_format(_format, debug=_env.bool("DJANGO_DEBUG", default=False))
if LOG_FORMAT == "json":
    # A Python warning too is a logged line (py.warnings), not a bare line on standard error;
    # the workers inherit this from the master.
    logging.captureWarnings(True)
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "contacts.log.JsonFormatter"}},
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": "INFO", "handlers": ["error"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
# gunicorn's default control socket is one path per OS user, shared by every gunicorn that user
# runs; a replica has no use for it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get(
    "FORWARDED_ALLOW_IPS", os.environ.get("DASHBOARD_TRUSTED_PROXIES") or "127.0.0.1"
)


def _stop_accepting(worker) -> None:
    """Run by the worker's event loop: stop watching the listeners, then close them."""
    # Already unregistered is fine: closing below is what matters.
    with contextlib.suppress(Exception):
        worker.set_accept_enabled(False)
    for listener in worker.sockets:
        listener.close()
    worker.log.info("draining: stopped accepting connections")


def post_worker_init(worker) -> None:
    from contacts.health import DRAINING

    original = signal.getsignal(signal.SIGTERM)
    accept = getattr(worker, "accept", None)

    def on_sigterm(signum, frame):
        DRAINING.set()
        if callable(original):
            original(signum, frame)
        queue = getattr(worker, "method_queue", None)
        if queue is not None:
            # A signal handler may run between any two lines of the event loop: the listeners
            # are closed from inside the loop, where nothing else is using them.
            queue.defer(_stop_accepting, worker)

    def accept_unless_closed(listener):
        # An event for a listener may already be waiting when it is closed.
        if listener.fileno() != -1:
            accept(listener)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)
    if accept is not None:
        worker.accept = accept_unless_closed


METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_made_metrics_dir: list[str] = []  # the temporary directory this server made, if any


def on_starting(server) -> None:
    """Before the workers fork: the metrics directory, empty, in the environment they inherit."""
    chosen = os.environ.get(METRICS_DIR, "")
    if chosen:
        directory = Path(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        # An earlier run's counts (and its dead workers' files) would be summed as this one's.
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="dashboard-metrics-"))
        _made_metrics_dir.append(str(directory))
        os.environ[METRICS_DIR] = str(directory)
    server.log.info("metrics: multiprocess directory %s", directory)


def child_exit(server, worker) -> None:
    """In the master, once a worker has gone: its live gauges no longer count."""
    if os.environ.get(METRICS_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for directory in _made_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)
