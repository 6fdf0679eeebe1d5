"""The dashboard's Prometheus metrics: every family `/metrics` exports, defined once, here.

Low in the layers (beside `cache`, `log` and `models`) so that the upstream client, the exports,
the summary and the sign-in audit can all count; the `/metrics` view sits in the web layer.

Labels are bounded: an organisation is one of the configured ids, never a user, a filter's value
or a contact; every other label takes one of the values listed below.

Under gunicorn every worker counts into its own files in PROMETHEUS_MULTIPROC_DIR (set by
`dashboard/gunicorn.py` before the workers fork, and read by prometheus_client when it is first
imported), and a scrape sums the replica's workers, whichever worker answers. Anywhere else
(runserver, tests, manage.py commands) the metrics live in the process: single-process mode.
"""

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# A `_created` series per child doubles a scrape in single-process mode and says nothing an
# alert uses (multiprocess mode has none).
disable_created_metrics()

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

LIST, DETAIL = "list", "detail"
ENDPOINTS = (LIST, DETAIL)
CALL_OUTCOMES = (
    "ok",
    "not_found",
    "rejected",  # 401 or 403: the key
    "bad_request",
    "rate_limited",
    "server_error",
    "timeout",
    "connection_error",
    "bad_answer",  # too large, a status the API does not document, a 2xx that is not JSON
)
BREAKER_OPEN, CALLS_BUSY = "breaker_open", "calls_busy"
REFUSAL_REASONS = (BREAKER_OPEN, CALLS_BUSY)
# An export, a summary or a bulk lookup ends in one of these; "refused": no place was free.
COMPLETED, FAILED, CANCELLED, REFUSED = "completed", "failed", "cancelled", "refused"
EXPORT_OUTCOMES = (COMPLETED, FAILED, CANCELLED, REFUSED)
# "cached": answered from the shared cache, counted by nobody.
SUMMARY_OUTCOMES = (COMPLETED, "cached", FAILED, CANCELLED, REFUSED)
SIGN_IN_METHODS = ("password", "header", "oidc")
SIGN_IN_OUTCOMES = ("success", "failure", "locked_out")

contactship_requests = Counter(
    "contactship_requests",
    "HTTP attempts made to Contactship (retries included), by how each ended.",
    ["organisation", "endpoint", "outcome"],
)
contactship_request_duration = Histogram(
    "contactship_request_duration_seconds",
    "Time from sending an attempt to Contactship to its end (the wait for a call slot excluded).",
    ["endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
)
contactship_refusals = Counter(
    "contactship_refusals",
    "Calls to Contactship the dashboard did not make: its circuit was open, or every call slot "
    "of the organisation stayed busy.",
    ["organisation", "reason"],
)
# The breaker's state lives in the shared cache, so any worker's latest reading is the truth
# for all: the most recent value written by a live worker wins ("livemostrecent"). "max" would
# keep a 1 from a worker that saw the circuit open and has not looked since it closed.
contactship_breaker_open = Gauge(
    "contactship_breaker_open",
    "1 while the organisation's circuit breaker is open (calls fail fast), else 0.",
    ["organisation"],
    multiprocess_mode="livemostrecent",
)
# Each worker adds the calls in flight its running scans allow now; a replica's figure is the
# sum over its live workers ("livesum"): a dead worker's scans are gone.
contactship_scan_concurrency = Gauge(
    "contactship_scan_concurrency",
    "Calls in flight the running scans (exports, summaries, bulk lookups) allow now.",
    ["organisation"],
    multiprocess_mode="livesum",
)
contactship_key_fallbacks = Counter(
    "contactship_key_fallbacks",
    "Calls sent again with the previous key of a rotation after Contactship rejected the "
    "current one.",
    ["organisation"],
)
dashboard_exports = Counter(
    "dashboard_exports", "Exports, by format and how each ended.", ["format", "outcome"]
)
dashboard_export_rows = Counter(
    "dashboard_export_rows", "Rows written by exports, whatever their end.", ["format"]
)
dashboard_summaries = Counter("dashboard_summaries", "Summaries, by how each ended.", ["outcome"])
dashboard_lookups = Counter(
    "dashboard_lookups", "Bulk lookups (page or file), by how each ended.", ["outcome"]
)
dashboard_sign_ins = Counter(
    "dashboard_sign_ins", "Sign-ins, by method and outcome.", ["method", "outcome"]
)

# Every family `/metrics` exports, by the name a scrape shows (counters end in _total).
FAMILIES = (
    "contactship_requests_total",
    "contactship_request_duration_seconds",
    "contactship_refusals_total",
    "contactship_breaker_open",
    "contactship_scan_concurrency",
    "contactship_key_fallbacks_total",
    "dashboard_exports_total",
    "dashboard_export_rows_total",
    "dashboard_summaries_total",
    "dashboard_lookups_total",
    "dashboard_sign_ins_total",
)


def count_call(organisation_id: str, endpoint: str, outcome: str, seconds: float) -> None:
    contactship_requests.labels(organisation_id, endpoint, outcome).inc()
    contactship_request_duration.labels(endpoint).observe(seconds)


def count_refusal(organisation_id: str, reason: str) -> None:
    contactship_refusals.labels(organisation_id, reason).inc()


def count_key_fallback(organisation_id: str) -> None:
    contactship_key_fallbacks.labels(organisation_id).inc()


def breaker_seen(organisation_id: str, is_open: bool) -> None:
    contactship_breaker_open.labels(organisation_id).set(1 if is_open else 0)


class ScanConcurrency:
    """One scan's share of `contactship_scan_concurrency`: `set` it as its limit changes,
    `end` it once (then it adds nothing)."""

    def __init__(self, organisation_id: str) -> None:
        self._gauge = contactship_scan_concurrency.labels(organisation_id)
        self._value = 0
        self._ended = False

    def set(self, value: int) -> None:
        if self._ended or value == self._value:
            return
        self._gauge.inc(value - self._value)
        self._value = value

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._value:
            self._gauge.dec(self._value)
            self._value = 0


def count_export(fmt: str, outcome: str, rows: int = 0) -> None:
    dashboard_exports.labels(fmt, outcome).inc()
    if rows:
        dashboard_export_rows.labels(fmt).inc(rows)


def count_summary(outcome: str) -> None:
    dashboard_summaries.labels(outcome).inc()


def count_lookup(outcome: str) -> None:
    dashboard_lookups.labels(outcome).inc()


def count_sign_in(method: str, outcome: str) -> None:
    dashboard_sign_ins.labels(method, outcome).inc()


def declare(organisation_ids: Iterable[str], export_formats: Iterable[str]) -> None:
    """Create every series with its known labels, at zero, so that each family shows from the
    first scrape on (an alert on a rate needs the series before the first event). A gauge
    created so has no value of its own in multiprocess mode: it changes no sum or latest."""
    for org in organisation_ids:
        for endpoint in ENDPOINTS:
            for outcome in CALL_OUTCOMES:
                contactship_requests.labels(org, endpoint, outcome)
        for reason in REFUSAL_REASONS:
            contactship_refusals.labels(org, reason)
        contactship_breaker_open.labels(org)
        contactship_scan_concurrency.labels(org)
        contactship_key_fallbacks.labels(org)
    for endpoint in ENDPOINTS:
        contactship_request_duration.labels(endpoint)
    for fmt in export_formats:
        dashboard_export_rows.labels(fmt)
        for outcome in EXPORT_OUTCOMES:
            dashboard_exports.labels(fmt, outcome)
    for outcome in SUMMARY_OUTCOMES:
        dashboard_summaries.labels(outcome)
    for outcome in EXPORT_OUTCOMES:
        dashboard_lookups.labels(outcome)
    for method in SIGN_IN_METHODS:
        for outcome in SIGN_IN_OUTCOMES:
            dashboard_sign_ins.labels(method, outcome)


def registry() -> CollectorRegistry:
    """What a scrape reads: the replica's workers' metrics under gunicorn, else this process's."""
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def sample(name: str, labels: dict[str, str]) -> float | None:
    """One series' value as a scrape would read it now (the status page reads what the metrics
    read), or None when it has none."""
    return registry().get_sample_value(name, labels)


def exposition() -> tuple[bytes, str]:
    """The text a scrape reads, and its content type: the sum over the replica's workers under
    gunicorn, this process's metrics elsewhere."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
