"""One attempt of a call to Contactship: take a call slot, send the GET, read the body within the
deadline and the size cap, and say how it went: the body of a 2xx, or a `Failure` holding the
dashboard's error for it and what the retry policy and the adaptive limit need to know.

Each attempt leaves one log line. Every line about calls stays on the `contacts.upstream.client`
logger, the one operators are told to follow (docs/admins/monitoring.md), whichever module
writes it.
"""

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests

from contacts import metrics
from contacts.upstream.adaptive import Answer
from contacts.upstream.config import ClientConfig
from contacts.upstream.errors import (
    BodyTooLarge,
    CallsBusy,
    DashboardError,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from contacts.upstream.limit import NoSlot, call_slot
from contacts.upstream.organisations import Organisation
from contacts.upstream.transport import environment, read_body

log = logging.getLogger("contacts.upstream.client")

TYPED = "<typed>"  # a filter's value, in log lines
# Answers that ask for fewer calls in flight (see `adaptive`); timeouts too.
OVERLOAD_STATUSES = frozenset({429, 503, 504})

# Anything shaped like a key or token: a long run of letters, digits, `-` and `_` holding both a
# letter and a digit. Words, numbers and phone numbers are not; UUIDs are hidden too.
KEY_SHAPED = re.compile(r"(?<![\w-])(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[\w-]{20,}(?![\w-])", re.ASCII)
REDACTED = "[hidden]"
JSON_START = re.compile(rb"\s*[\[{]")

Observe = Callable[[Answer, float, float | None], None]


@dataclass(frozen=True, slots=True)
class Failure:
    """One attempt that failed: what it ends in if not tried again, and what the retry policy
    and the adaptive limit need to know of it."""

    outcome: str  # for the log line: the status, or what went wrong
    error: DashboardError
    cause: Exception | None = None
    status: int | None = None  # the answer's status, if one came
    transient: bool = False  # no answer, but trying again may get one (refused, reset...)
    answer: Answer | None = Answer.ERROR  # for `adaptive`; None: the upstream was not asked


@dataclass(frozen=True, slots=True)
class Call:
    """What every attempt of one logical call shares."""

    organisation: Organisation
    path: str
    params: dict[str, Any]
    request: requests.PreparedRequest
    deadline: float  # a time.monotonic() value
    cache_state: str  # for the log line
    reserve: int = 0  # call slots to leave free for others (page views)
    observe: Observe | None = None  # told each attempt's outcome and latency


def attempt(
    call: Call, number: int, *, config: ClientConfig, session: requests.Session
) -> bytes | Failure:
    """Attempt `number` (from 1) of `call`: the body of a 2xx, or how it failed. Logged, and
    told to `call.observe`."""
    remaining = call.deadline - time.monotonic()
    if remaining <= 0:
        raise UpstreamTimeout("deadline passed before the call")
    timeout = (min(config.connect_timeout, remaining), min(config.read_timeout, remaining))
    started = sent = time.monotonic()
    result: bytes | Failure
    try:
        with call_slot(
            call.organisation.id,
            limit=config.max_concurrent_calls,
            deadline=call.deadline,
            hold=config.deadline + 5,
            reserve=call.reserve,
        ):
            sent = time.monotonic()  # the wait for a slot is not the upstream's latency
            with session.send(
                call.request,
                timeout=timeout,
                # A redirect could carry the key header to another host.
                allow_redirects=False,
                stream=True,
                **environment(config.base_url),
            ) as response:
                content = read_body(
                    response,
                    deadline=call.deadline,
                    read_timeout=config.read_timeout,
                    cap=config.max_body_bytes,
                )
    except (NoSlot, BodyTooLarge, requests.RequestException) as exc:
        result = _transport_failure(call, exc, config.max_body_bytes)
    else:
        status = response.status_code
        ok = 200 <= status < 300
        result = content if ok else _answer_failure(call, response, content)
    outcome = result.outcome if isinstance(result, Failure) else str(status)
    log_call(call.organisation, call.path, call.params, outcome, started, number, call.cache_state)
    seconds = time.monotonic() - sent
    _count(call, result, seconds)
    _tell(call.observe, result, seconds)
    return result


def _count(call: Call, result: bytes | Failure, seconds: float) -> None:
    """The attempt in the metrics: a call made, or one the call limit kept from going out."""
    org_id = call.organisation.id
    if isinstance(result, Failure) and result.answer is None:
        metrics.count_refusal(org_id, metrics.CALLS_BUSY)
        return
    endpoint = metrics.LIST if call.path == "/contacts" else metrics.DETAIL
    metrics.count_call(org_id, endpoint, call_outcome(result), seconds)


def call_outcome(result: bytes | Failure) -> str:
    """The `outcome` label of an attempt that went out (see `contacts.metrics`)."""
    if not isinstance(result, Failure):
        return "ok" if looks_like_json(result) else "bad_answer"
    status = result.status
    if status is None:
        if isinstance(result.error, UpstreamTimeout):
            return "timeout"
        if isinstance(result.error, UpstreamUnavailable):
            return "connection_error"
        return "bad_answer"  # too large
    if status == 400:
        return "bad_request"
    if status in (401, 403):
        return "rejected"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if isinstance(result.error, UpstreamNotFound):
        return "not_found"
    return "bad_answer"  # the list's 404, or a status the API does not document


def _tell(observe: Observe | None, result: bytes | Failure, seconds: float) -> None:
    if observe is None:
        return
    if not isinstance(result, Failure):
        observe(Answer.OK, seconds, None)
    elif result.answer is not None:
        observe(result.answer, seconds, result.error.retry_after)


def looks_like_json(body: bytes) -> bool:
    """Whether a 2xx's body is shaped like a JSON object or array, from its ends only: an HTML
    page from a proxy is not. Decoding it all is left to the caller, once (it is most of an
    export's CPU); JSON of the wrong shape shows only then."""
    start = JSON_START.match(body)
    return start is not None and body[-64:].rstrip()[-1:] in (b"}", b"]")


def _transport_failure(call: Call, exc: Exception, max_body_bytes: int) -> Failure:
    """An attempt that got no usable answer: no call slot, a body too large, a timeout, a
    refused or broken connection."""
    if isinstance(exc, NoSlot):
        # The upstream was not asked: nothing to tell the adaptive limit, nothing to retry.
        busy = CallsBusy("every call slot of the organisation stayed busy")
        return Failure("no-slot", busy, exc, answer=None)
    if isinstance(exc, BodyTooLarge):
        log.error(
            "upstream answer too large org=%s path=%s: more than %d bytes",
            call.organisation.id,
            call.path,
            max_body_bytes,
        )
        error = UpstreamBadResponse(
            f"answer larger than {max_body_bytes} bytes (CONTACTSHIP_MAX_BODY_BYTES)"
        )
        return Failure("too-large", error, exc)
    if isinstance(exc, requests.ConnectTimeout):
        timeout = UpstreamTimeout("connect timeout")
        return Failure("connect-timeout", timeout, exc, transient=True, answer=Answer.OVERLOAD)
    if isinstance(exc, requests.Timeout):
        # A read timeout is not retried: another wait as long would outrun the deadline.
        timeout = UpstreamTimeout("read timeout")
        return Failure("read-timeout", timeout, exc, answer=Answer.OVERLOAD)
    if isinstance(exc, requests.ConnectionError):
        unavailable = UpstreamUnavailable("connection failed")
        return Failure("connection-error", unavailable, exc, transient=True)
    return Failure("request-error", UpstreamUnavailable(type(exc).__name__), exc)


def _answer_failure(call: Call, response: requests.Response, content: bytes) -> Failure:
    status = response.status_code
    error = error_for(call.organisation, call.path, response, content)
    if status in OVERLOAD_STATUSES:
        answer = Answer.OVERLOAD
    elif isinstance(error, UpstreamNotFound):
        # "No such contact" is a lookup's everyday answer, as clean as a 200.
        answer = Answer.OK
    else:
        answer = Answer.ERROR
    return Failure(str(status), error, status=status, answer=answer)


def error_for(
    organisation: Organisation, path: str, response: requests.Response, content: bytes
) -> UpstreamError:
    """The dashboard's error for an answer that is not a 2xx."""
    status = response.status_code
    if status == 400:
        return UpstreamBadRequest(
            _complaint(content, organisation.api_key, organisation.previous_api_key)
        )
    if status in (401, 403):
        log.error(
            "Contactship rejected the API key org=%s status=%d: an administrator must update "
            "the key in CONTACTSHIP_ORGANISATIONS",
            organisation.id,
            status,
        )
        return UpstreamAuthError(f"key rejected ({status})")
    if status == 404:
        if path == "/contacts":
            # The list itself cannot be "not found": the base URL is wrong.
            log.error("contact list answered 404: check CONTACTSHIP_API_URL")
            return UpstreamBadResponse("the contact list answered 404")
        return UpstreamNotFound("not found")
    if status == 429:
        return UpstreamRateLimited("rate limited", retry_after=_retry_after_seconds(response))
    if status >= 500:
        retry_after = _retry_after_seconds(response) if status == 503 else None
        return UpstreamUnavailable(f"upstream status {status}", retry_after=retry_after)
    return UpstreamBadResponse(f"unexpected status {status}")


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def redact(text: str, *secrets: str) -> str:
    """`text` without the given secrets or anything shaped like a key, for a page or a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPED.sub(REDACTED, text)


def _complaint(content: bytes, *keys: str) -> str:
    """The upstream's own words about a 400, short, as plain text, and never holding the
    organisation's key (an upstream may echo the request, headers included)."""
    try:
        body = orjson.loads(content)
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            if isinstance(body.get(key), str):
                # Redacted before it is cut: a cut could leave a key's first part.
                return redact(body[key], *keys)[:300]
    return ""


def log_call(
    organisation: Organisation,
    path: str,
    params: dict[str, Any],
    outcome: str,
    started: float,
    attempt: int,
    cache_state: str,
) -> None:
    """The one line an upstream call (or a call answered without the upstream) leaves."""
    ms = round((time.monotonic() - started) * 1000) if started else 0
    kind = params.get("identifierType")
    if kind in ("email", "phone_number"):
        # A person's email or phone is not for the operators' logs; an id says nothing.
        path = f"/contacts/<{kind}>"
    # What a person typed into a filter is theirs, not the operators': its name is logged,
    # its value is not (paging numbers and the identifier's kind are).
    params = {
        name: TYPED if isinstance(value, str) and name != "identifierType" else value
        for name, value in params.items()
    }
    fields = {
        "org": organisation.id,
        "path": path,
        "params": params,
        "status": outcome,
        "ms": ms,
        "attempt": attempt,
        "cache": cache_state,
    }
    log.info(
        "upstream org=%s path=%s params=%s status=%s ms=%d attempt=%d cache=%s",
        organisation.id,
        path,
        json.dumps(params, ensure_ascii=False, sort_keys=True),
        outcome,
        ms,
        attempt,
        cache_state,
        extra={"upstream": fields},
    )
