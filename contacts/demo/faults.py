"""Failures the demo Contactship API can simulate, so the dashboard's error handling can be seen.

One definition serves the command line (``add_arguments`` / ``Faults.from_args``) and the tests
(``Faults(...)``, assigned to a running server's ``faults`` attribute).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Faults:
    """What the demo server gets wrong; all off by default."""

    latency_ms: int = 0  # sleep this long before answering every request
    error_rate: float = 0.0  # this fraction of requests gets HTTP 500 (seeded, reproducible)
    status: int | None = None  # answer every request with this error status
    hang: bool = False  # accept requests and never answer them
    non_json: bool = False  # answer 200s with an HTML maintenance page
    wrong_shape: bool = False  # answer 200s with valid JSON of the wrong shape
    rate_limit_retry_after: int | None = None  # answer 429 with Retry-After: <this many seconds>
    rate_limit_count: int = 0  # 0: every request is rate limited; N: only the first N
    ignore_paging: bool = False  # ignore limit/offset: always the first 100 matches
    fail_from_offset: int | None = None  # list requests with offset >= this get HTTP 500
    trickle_ms: int = 0  # send 200 bodies one byte at a time, this many ms apart
    huge_body_mb: int = 0  # pad 200 bodies (valid JSON) to this many MB, without Content-Length
    odd_timestamps: bool = False  # the first contacts of an answer get impossible created_at
    max_concurrent: int = 0  # 0: no limit; N: 429 to a request arriving while N are in flight

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.rate_limit_retry_after is not None and self.rate_limit_retry_after < 0:
            raise ValueError("rate_limit_retry_after must not be negative")
        if self.rate_limit_count < 0:
            raise ValueError("rate_limit_count must not be negative")
        if self.fail_from_offset is not None and self.fail_from_offset < 0:
            raise ValueError("fail_from_offset must not be negative")
        if self.trickle_ms < 0 or self.huge_body_mb < 0:
            raise ValueError("trickle_ms and huge_body_mb must not be negative")
        if self.max_concurrent < 0:
            raise ValueError("max_concurrent must not be negative")

    @property
    def active(self) -> bool:
        """Whether any fault is switched on."""
        return self != Faults()

    def describe(self) -> str:
        """A short human description, e.g. "latency 200 ms, 500 on 10% of requests"."""
        which = (
            f"the first {self.rate_limit_count} requests"
            if self.rate_limit_count
            else "every request"
        )
        described = (
            (self.hang, "never answers"),
            (self.latency_ms, f"latency {self.latency_ms} ms"),
            (self.status is not None, f"every request answered {self.status}"),
            (
                self.rate_limit_retry_after is not None,
                f"429 Retry-After {self.rate_limit_retry_after} s on {which}",
            ),
            (self.error_rate, f"500 on {self.error_rate:.0%} of requests"),
            (self.non_json, "HTML instead of JSON"),
            (self.wrong_shape, "JSON of the wrong shape"),
            (self.ignore_paging, "limit/offset ignored"),
            (self.fail_from_offset is not None, f"500 from offset {self.fail_from_offset}"),
            (self.trickle_ms, f"bodies trickle a byte every {self.trickle_ms} ms"),
            (self.huge_body_mb, f"bodies padded to {self.huge_body_mb} MB"),
            (self.odd_timestamps, "out-of-range timestamps"),
            (self.max_concurrent, f"429 beyond {self.max_concurrent} concurrent requests"),
        )
        parts = [text for on, text in described if on]
        return ", ".join(parts) or "none"

    @classmethod
    def from_args(cls, namespace: argparse.Namespace) -> Faults:
        """The faults chosen by the options ``add_arguments`` defined."""
        names = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in vars(namespace).items() if name in names})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fault options (``--latency-ms``, ``--hang``, ...) to ``parser``."""
    group = parser.add_argument_group("simulated faults (all off by default)")
    group.add_argument(
        "--latency-ms", type=_non_negative, default=0, help="sleep before every answer"
    )
    group.add_argument(
        "--error-rate",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="answer this fraction of requests (0-1) with HTTP 500",
    )
    group.add_argument(
        "--status", type=_error_status, help="answer every request with this HTTP status"
    )
    group.add_argument("--hang", action="store_true", help="accept requests, never answer")
    group.add_argument("--non-json", action="store_true", help="answer 200 with an HTML page")
    group.add_argument(
        "--wrong-shape", action="store_true", help="answer 200 with JSON of the wrong shape"
    )
    group.add_argument(
        "--rate-limit",
        dest="rate_limit_retry_after",
        type=_non_negative,
        metavar="RETRY_AFTER",
        help="answer 429 with this Retry-After (seconds)",
    )
    group.add_argument(
        "--rate-limit-count",
        type=_non_negative,
        default=0,
        metavar="N",
        help="rate limit only the first N requests (default 0: all of them)",
    )
    group.add_argument(
        "--ignore-paging", action="store_true", help="ignore limit/offset, return the first 100"
    )
    group.add_argument(
        "--fail-from-offset",
        type=_non_negative,
        metavar="N",
        help="answer 500 to list requests with offset >= N",
    )
    group.add_argument(
        "--trickle-ms",
        type=_non_negative,
        default=0,
        metavar="MS",
        help="send each 200 answer's body one byte at a time, MS milliseconds apart",
    )
    group.add_argument(
        "--huge-body-mb",
        type=_non_negative,
        default=0,
        metavar="MB",
        help="pad each 200 answer's JSON with spaces to MB megabytes, sent without a length",
    )
    group.add_argument(
        "--odd-timestamps",
        action="store_true",
        help="give the first contacts of each answer created_at values that parse but overflow "
        "when converted to UTC (0001-01-01T00:00:00+05:00, 9999-12-31T23:59:59-05:00) or are "
        "not dates",
    )
    group.add_argument(
        "--max-concurrent",
        type=_non_negative,
        default=0,
        metavar="N",
        help=(
            "answer 429 (without Retry-After) to a request that arrives while N others are in "
            "flight; GET /_demo/stats reports the most seen at once (default 0: no limit)"
        ),
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {value}")
    return value


def _error_status(text: str) -> int:
    value = _non_negative(text)
    if not 400 <= value <= 599:
        raise argparse.ArgumentTypeError(f"must be an HTTP error status (400-599): {value}")
    return value
