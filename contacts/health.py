"""Probes for load balancers and orchestrators.

`/healthz`: the process answers (liveness; checks nothing else, so a slow dependency never gets
a healthy replica restarted). `/readyz`: this process can serve: it is not draining (503 at once
after SIGTERM, see dashboard/gunicorn.py) and its database and cache answer (readiness; a replica
that cannot serve is taken out of rotation, not killed). Whether the Contactship API answers is
reported too, but does not make a replica unready: it is the same API for every replica, and
taking them all out of the balancer would only replace the dashboard's own "Contactship is not
answering" page with the proxy's. Its answer is kept a few seconds, so that a probe every second
from several balancers does not become a call per probe.

Answered by the first middleware, before host validation, HTTPS redirects, sessions and login:
probes come over plain HTTP with the replica's address as Host. They reveal nothing but "ok" or
the name of what failed.
"""

import logging
import threading
import time
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from contacts.upstream.transport import upstream_reachable

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0  # seconds, per dependency
UPSTREAM_TTL = 5.0  # seconds the upstream's answer is reused

# Set when the process has been asked to stop (SIGTERM): readiness fails from then on.
DRAINING = threading.Event()


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("value not read back")
    cache.delete(key)


def _upstream() -> None:
    upstream_reachable(timeout=PROBE_TIMEOUT)


# What readiness depends on; "upstream" is reported beside them.
CHECKS = {"database": _database, "cache": _cache}

_upstream_lock = threading.Lock()
_upstream_answer: tuple[float, str] | None = None  # (when, "ok" | "failed")


def _run(name: str, check) -> str:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:
        log.warning(
            "readiness: %s failed after %d ms (%s)",
            name,
            round((time.monotonic() - started) * 1000),
            type(exc).__name__,
        )
        return "failed"
    return "ok"


def upstream_status() -> str:
    """Whether the upstream answers ("ok" or "failed"), asked at most once per UPSTREAM_TTL."""
    global _upstream_answer
    with _upstream_lock:
        now = time.monotonic()
        if _upstream_answer is None or now - _upstream_answer[0] >= UPSTREAM_TTL:
            _upstream_answer = (now, _run("upstream", _upstream))
        return _upstream_answer[1]


def readiness() -> tuple[bool, dict[str, str]]:
    if DRAINING.is_set():
        return False, {"status": "draining"}
    results = {name: _run(name, check) for name, check in CHECKS.items()}
    ready = all(v == "ok" for v in results.values())
    results["upstream"] = upstream_status()
    return ready, {"status": "ok" if ready else "unavailable", **results}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            response = JsonResponse({"status": "ok"})
        elif request.path == "/readyz":
            ready, results = readiness()
            response = JsonResponse(results, status=200 if ready else 503)
        else:
            return self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response
