"""Probes for load balancers and orchestrators.

`/healthz`: the process answers (liveness; checks nothing else, so a slow dependency never gets
a healthy replica restarted). `/readyz`: the database, the cache and the Contactship API answer
(readiness; a replica that cannot serve is taken out of rotation, not killed).

Answered by the first middleware, before host validation, HTTPS redirects, sessions and login:
probes come over plain HTTP with the replica's address as Host. They reveal nothing but "ok" or
the name of what failed.
"""

import logging
import time
import uuid

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0  # seconds, per dependency


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
    # Any HTTP answer means reachable; no key is sent (a probe must not spend the quota, and a
    # 401 is the expected answer).
    requests.get(
        settings.CONTACTSHIP_API_URL.rstrip("/") + "/contacts",
        timeout=PROBE_TIMEOUT,
        allow_redirects=False,
    )


CHECKS = {"database": _database, "cache": _cache, "upstream": _upstream}


def readiness() -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:
            results[name] = "failed"
            log.warning(
                "readiness: %s failed after %d ms (%s)",
                name,
                round((time.monotonic() - started) * 1000),
                type(exc).__name__,
            )
        else:
            results[name] = "ok"
    return all(v == "ok" for v in results.values()), results


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            response = JsonResponse({"status": "ok"})
        elif request.path == "/readyz":
            ready, results = readiness()
            response = JsonResponse(
                {"status": "ok" if ready else "unavailable", **results},
                status=200 if ready else 503,
            )
        else:
            return self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response
