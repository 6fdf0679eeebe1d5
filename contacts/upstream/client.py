"""The one module that talks to Contactship.

It owns the HTTP session (pooled, one per process), the timeouts and the deadline, retries, the
circuit breaker, the call limit, the cache of identical requests, the log line of every call, and
the translation of every failure into the typed errors of `errors`. It returns typed contacts, or
for the scan engine (`scan`) a page's bytes: nothing past this package sees `requests`. The
organisation's key is read here and only here.
"""

import functools
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter

from contacts.contact.identifiers import Identifier
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.upstream.adaptive import Answer
from contacts.upstream.breaker import HALF_OPEN, OPEN, CircuitBreaker
from contacts.upstream.decode import contact_from_json, contacts_from_json
from contacts.upstream.errors import (
    BodyTooLarge,
    CallsBusy,
    Cancelled,
    CircuitOpen,
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

log = logging.getLogger(__name__)

USER_AGENT = "contacts-dashboard/1.0"
TYPED = "<typed>"  # a filter's value, in log lines
CACHE_PREFIX = "contactship:v2"  # v2: the cache holds the API's bytes, not parsed contacts
# Answers a page view asks again: the upstream was briefly unable to answer. A 500 is not among
# them: it says the upstream failed this very request, and a person is waiting for the page.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Scans and bulk lookups make hundreds of calls: one 500 among them is noise to ride out, or a
# result of 600 pages fails whenever a twentieth of the answers are errors.
SCAN_RETRY_STATUSES = RETRY_STATUSES | {500}
# Answers that ask for fewer calls in flight (see `adaptive`); timeouts too.
OVERLOAD_STATUSES = frozenset({429, 503, 504})
# Failures that say the upstream is unwell; a 400, 401 or 404 says it is alive.
BREAKER_FAILURES = (UpstreamUnavailable, UpstreamTimeout, UpstreamBadResponse)

# Bytes asked of the socket per read; a read returns what has arrived, up to this.
READ_SIZE = 256 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str
    connect_timeout: float
    read_timeout: float
    deadline: float
    retries: int
    scan_retries: int
    backoff: float
    retry_after_cap: float
    page_size: int
    limit_param: str
    offset_param: str
    max_export_pages: int
    scan_calls_start: int
    scan_calls_max: int
    reserved_calls: int
    cache_ttl: int
    breaker_threshold: int
    breaker_cooldown: float
    max_concurrent_calls: int
    max_body_bytes: int
    cache_max_bytes: int

    @classmethod
    def from_settings(cls) -> "ClientConfig":
        base_url = settings.CONTACTSHIP_API_URL.rstrip("/")
        if not base_url:
            raise ImproperlyConfigured("CONTACTSHIP_API_URL is empty.")
        return cls(
            base_url=base_url,
            connect_timeout=settings.CONTACTSHIP_CONNECT_TIMEOUT,
            read_timeout=settings.CONTACTSHIP_READ_TIMEOUT,
            deadline=settings.CONTACTSHIP_DEADLINE,
            retries=settings.CONTACTSHIP_RETRIES,
            scan_retries=settings.CONTACTSHIP_SCAN_RETRIES,
            backoff=settings.CONTACTSHIP_BACKOFF,
            retry_after_cap=settings.CONTACTSHIP_RETRY_AFTER_CAP,
            page_size=settings.CONTACTSHIP_PAGE_SIZE,
            limit_param=settings.CONTACTSHIP_LIMIT_PARAM,
            offset_param=settings.CONTACTSHIP_OFFSET_PARAM,
            max_export_pages=settings.CONTACTSHIP_MAX_EXPORT_PAGES,
            scan_calls_start=max(1, settings.CONTACTSHIP_SCAN_CALLS_START),
            scan_calls_max=max(1, settings.CONTACTSHIP_SCAN_CALLS_MAX),
            reserved_calls=max(0, settings.CONTACTSHIP_RESERVED_CALLS),
            cache_ttl=settings.CONTACTSHIP_CACHE_TTL,
            breaker_threshold=settings.CONTACTSHIP_BREAKER_THRESHOLD,
            breaker_cooldown=settings.CONTACTSHIP_BREAKER_COOLDOWN,
            max_concurrent_calls=settings.CONTACTSHIP_MAX_CONCURRENT_CALLS,
            max_body_bytes=settings.CONTACTSHIP_MAX_BODY_BYTES,
            cache_max_bytes=settings.CONTACTSHIP_CACHE_MAX_BYTES,
        )


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
class RetryPolicy:
    """Which failed attempts are tried again, how often and after how long. Every retry stays
    within the call's deadline; only GETs are made, so trying again is always safe."""

    statuses: frozenset[int]  # answers tried again, besides transient failures
    retries: int  # attempts after the first
    backoff: float  # the n-th retry waits up to backoff * 2**(n-1), at random
    retry_after_cap: float  # a longer Retry-After ends the call at once

    @classmethod
    def for_pages(cls, config: ClientConfig) -> "RetryPolicy":
        """A page view's: a person waits, so only answers that say "briefly unable"."""
        return cls(RETRY_STATUSES, config.retries, config.backoff, config.retry_after_cap)

    @classmethod
    def for_scans(cls, config: ClientConfig) -> "RetryPolicy":
        """A scan's page or a bulk lookup's value: 500s too, and more attempts."""
        retries = max(config.retries, config.scan_retries)
        return cls(SCAN_RETRY_STATUSES, retries, config.backoff, config.retry_after_cap)

    def wait(self, attempt: int, failure: Failure, deadline: float) -> float | None:
        """Seconds to wait before trying again after failed attempt number `attempt` (from 1),
        or None to give up."""
        worth = failure.status in self.statuses if failure.status else failure.transient
        if not worth or attempt > self.retries:
            return None
        # Exponential with full jitter, so callers failing together do not retry together.
        wait = random.uniform(0, self.backoff * 2 ** (attempt - 1))  # noqa: S311
        retry_after = failure.error.retry_after
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                return None
            wait = max(wait, retry_after)
        if time.monotonic() + wait >= deadline:
            return None
        return wait


@dataclass(frozen=True, slots=True)
class _Call:
    """What every attempt of one logical call shares."""

    organisation: Organisation
    path: str
    params: dict[str, Any]
    deadline: float
    cache_state: str
    reserve: int
    observe: Callable[[Answer, float, float | None], None] | None


_session: requests.Session | None = None
_session_lock = threading.Lock()


def shared_session() -> requests.Session:
    """The process's one pooled session, sized for the worker's threads."""
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            # Retries are ours (deadline-aware, logged); the adapter must not add its own.
            adapter = HTTPAdapter(pool_maxsize=settings.CONTACTSHIP_POOL_SIZE, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            # The environment (proxies, CA bundle) is read once per base URL by `environment`:
            # with trust_env on, requests reads it again and looks for ~/.netrc on every call,
            # a sixth of the CPU an export page costs. It also keeps ~/.netrc credentials out
            # of calls that authenticate with the key header alone.
            session.trust_env = False
            _session = session
        return _session


@functools.cache
def environment(base_url: str) -> dict[str, Any]:
    """The proxy, CA bundle and client certificate settings the environment gives `base_url`,
    as requests would read them (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE...)."""
    with requests.Session() as probe:
        found = probe.merge_environment_settings(base_url, {}, None, None, None)
    return {"proxies": found["proxies"], "verify": found["verify"], "cert": found["cert"]}


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


def contact_path(contact_id: str) -> str:
    """The detail path of `contact_id`, which stays one path segment whatever it holds.

    Everything but letters, digits and `-_~` is percent-encoded, dots included: `quote()` leaves
    dots alone, and a segment `.` or `..` would be collapsed on the way out, so that `/contacts/.`
    asked for the contact list and `/contacts/..` for the API's root, with the organisation's key.
    """
    return "/contacts/" + quote(contact_id, safe="").replace(".", "%2E")


def decode_json(body: bytes) -> Any:
    """The documented answers are JSON; anything else is an unexpected answer."""
    try:
        # orjson: decoding is most of an export's own CPU time, and it decodes 3-4x faster.
        return orjson.loads(body)
    except ValueError as exc:
        raise UpstreamBadResponse("body is not JSON") from exc


# Anything shaped like a key or token: a long run of letters, digits, `-` and `_` holding both a
# letter and a digit. Words, numbers and phone numbers are not; UUIDs are hidden too.
KEY_SHAPED = re.compile(r"(?<![\w-])(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[\w-]{20,}(?![\w-])", re.ASCII)
REDACTED = "[hidden]"


def redact(text: str, *secrets: str) -> str:
    """`text` without the given secrets or anything shaped like a key, for a page or a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPED.sub(REDACTED, text)


def _complaint(content: bytes, api_key: str) -> str:
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
                return redact(body[key], api_key)[:300]
    return ""


class ContactshipClient:
    def __init__(self, config: ClientConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        self.breaker = CircuitBreaker(
            threshold=config.breaker_threshold,
            cooldown=config.breaker_cooldown,
            trial_timeout=config.deadline + 5,
        )

    # --- public: what the views, the export and the commands call -----------------------------

    def contact_list(
        self,
        *,
        organisation: Organisation,
        query: ContactQuery,
        offset: int = 0,
        use_cache: bool = True,
        refresh: bool = False,
        deadline: float | None = None,
    ) -> list[Contact]:
        """One page of contacts matching `query`, starting at `offset`."""
        return self._call(
            organisation,
            "/contacts",
            self._list_params(query, offset),
            parse=lambda body: contacts_from_json(decode_json(body)),
            use_cache=use_cache,
            refresh=refresh,
            deadline=deadline,
        )

    def _list_params(self, query: ContactQuery, offset: int) -> dict[str, Any]:
        return {
            **query.upstream_params(),
            self.config.limit_param: self.config.page_size,
            self.config.offset_param: offset,
        }

    def contact_get(
        self,
        *,
        organisation: Organisation,
        contact_id: str,
        refresh: bool = False,
        deadline: float | None = None,
    ) -> Contact:
        return self._call(
            organisation,
            contact_path(contact_id),
            {"identifierType": "id"},
            parse=lambda body: contact_from_json(decode_json(body)),
            use_cache=True,
            refresh=refresh,
            deadline=deadline,
            # One odd contact (or an id that names no contact) is not an upstream that is down:
            # it must not open the organisation's circuit for everyone's searches.
            bad_answer_is_failure=False,
        )

    def scan_page(
        self,
        *,
        organisation: Organisation,
        query: ContactQuery,
        offset: int,
        observe: Callable[[Answer, float, float | None], None] | None = None,
        stop: threading.Event | None = None,
        on_retry: Callable[[DashboardError], None] | None = None,
    ) -> bytes:
        """The API's bytes of one page of a scan (see `scan`), fresh, with its own deadline.

        Tried again as a scan's pages are (`RetryPolicy.for_scans`: a 500 too). Neither cached
        nor counted by the breaker: the scan tells the breaker about the pages it uses, in
        order, each failed attempt (`on_retry` hears those tried again) and the outcome, and not
        about speculative ones past the end. The call leaves `reserved_calls` of the
        organisation's slots to page views. `observe` hears each attempt's outcome; `stop` set
        ends the call before its next attempt (`Cancelled`).
        """
        self._require_key(organisation)
        deadline = time.monotonic() + self.config.deadline
        return self._get_body(
            organisation,
            "/contacts",
            self._list_params(query, offset),
            deadline,
            "off",
            policy=RetryPolicy.for_scans(self.config),
            reserve=self.config.reserved_calls,
            observe=observe,
            stop=stop,
            on_retry=on_retry,
        )

    def contact_find(self, *, organisation: Organisation, identifier: Identifier) -> Contact:
        """The one contact `identifier` (an email, a phone number in E.164 or an id) names;
        `UpstreamNotFound` if none. Cached like a contact page, and the contact page it leads
        to is then answered from the cache: the quick find costs one call."""
        contact, body = self._call(
            organisation,
            self._identifier_path(identifier),
            {"identifierType": identifier.kind},
            parse=lambda body: (contact_from_json(decode_json(body)), body),
            use_cache=True,
            refresh=False,
            deadline=None,
        )
        if identifier.kind != "id" and contact.id and self.config.cache_ttl > 0:
            key = self._cache_key(
                organisation, f"/contacts/{quote(contact.id, safe='')}", {"identifierType": "id"}
            )
            try:
                cache.set(key, body, timeout=self.config.cache_ttl)
            except Exception:
                log.warning("cache unavailable, result not kept", exc_info=True)
        return contact

    def lookup_body(
        self,
        *,
        organisation: Organisation,
        identifier: Identifier,
        observe: Callable[[Answer, float, float | None], None] | None = None,
        stop: threading.Event | None = None,
        on_retry: Callable[[DashboardError], None] | None = None,
    ) -> bytes:
        """The API's bytes for one identifier of a bulk lookup (see `lookup`), fresh, with its
        own deadline; `UpstreamNotFound` if no contact has it. Like a scan's page: tried again
        as a scan's are, uncached, not counted by the breaker (the lookup tells it, `on_retry`
        hearing the failed attempts tried again), leaving `reserved_calls` of the
        organisation's slots to page views."""
        self._require_key(organisation)
        deadline = time.monotonic() + self.config.deadline
        return self._get_body(
            organisation,
            self._identifier_path(identifier),
            {"identifierType": identifier.kind},
            deadline,
            "off",
            policy=RetryPolicy.for_scans(self.config),
            reserve=self.config.reserved_calls,
            observe=observe,
            stop=stop,
            on_retry=on_retry,
        )

    @staticmethod
    def _identifier_path(identifier: Identifier) -> str:
        # Classified values are never "." or "..", which the HTTP client would collapse.
        if not identifier.valid or identifier.value in (".", ".."):
            raise ValueError("not a classified identifier")
        return f"/contacts/{quote(identifier.value, safe='')}"

    # --- the breaker, for the scan engine too ---------------------------------------------------

    def breaker_check(
        self, organisation: Organisation, path: str = "/contacts", params: dict | None = None
    ) -> None:
        """Raise `CircuitOpen` if calls for `organisation` are failing fast now."""
        if not self.breaker.allow(organisation.id):
            self._log(organisation, path, params or {}, "circuit-open", 0.0, 0, "skip")
            raise CircuitOpen("circuit open")

    def breaker_ahead(self, organisation: Organisation) -> bool:
        """For a caller whose calls go out later, each asking `breaker.allow` as it goes (a bulk
        lookup): raise `CircuitOpen` if calls for `organisation` are failing fast now, without
        claiming the half-open trial, which only a call going out may take. True when
        half-open: the first call should then go alone, and the others wait for its outcome."""
        state = self.breaker.state(organisation.id)
        if state == OPEN:
            self._log(organisation, "/contacts", {}, "circuit-open", 0.0, 0, "skip")
            raise CircuitOpen("circuit open")
        return state == HALF_OPEN

    def breaker_record(
        self,
        organisation: Organisation,
        error: BaseException | None,
        *,
        bad_answer_is_failure: bool = True,
    ) -> None:
        """Tell the breaker how a call ended: a 400, 401 or 404 says the upstream is alive. An
        odd answer for one contact (`bad_answer_is_failure=False`) counts neither way, so that
        nobody can open an organisation's circuit by asking for odd contacts."""
        if isinstance(error, UpstreamBadResponse) and not bad_answer_is_failure:
            return
        if isinstance(error, BREAKER_FAILURES):
            self.breaker.record_failure(organisation.id)
        elif error is None or isinstance(error, UpstreamError):
            self.breaker.record_success(organisation.id)

    def _require_key(self, organisation: Organisation) -> None:
        if not organisation.api_key:
            log.error("no API key configured org=%s", organisation.id)
            raise UpstreamAuthError("no API key configured")

    # --- one logical call: cache, breaker, retries --------------------------------------------

    def _cache_key(self, organisation: Organisation, path: str, params: dict[str, Any]) -> str:
        # Hashed: filters may hold any character, and the key must never hold the API key.
        material = json.dumps([organisation.id, path, sorted(params.items())], ensure_ascii=False)
        return f"{CACHE_PREFIX}:{hashlib.sha256(material.encode()).hexdigest()}"

    def _call(
        self,
        organisation: Organisation,
        path: str,
        params: dict[str, Any],
        *,
        parse: Callable[[Any], T],
        use_cache: bool,
        refresh: bool,
        deadline: float | None,
        bad_answer_is_failure: bool = True,
    ) -> T:
        caching = use_cache and self.config.cache_ttl > 0
        cache_key = self._cache_key(organisation, path, params) if caching else ""
        if caching and not refresh:
            try:
                hit = cache.get(cache_key)
            except Exception:
                log.warning("cache unavailable, asking upstream", exc_info=True)
                hit = None
            if hit is not None:
                self._log(organisation, path, params, "cached", 0.0, 0, "hit")
                return parse(hit)

        self.breaker_check(organisation, path, params)
        self._require_key(organisation)

        cache_state = "refresh" if refresh else ("miss" if caching else "off")
        if deadline is None:
            deadline = time.monotonic() + self.config.deadline
        try:
            body = self._get_body(organisation, path, params, deadline, cache_state)
            result = parse(body)
        except UpstreamError as exc:
            self.breaker_record(organisation, exc, bad_answer_is_failure=bad_answer_is_failure)
            raise
        self.breaker_record(organisation, None)

        if caching and len(body) <= self.config.cache_max_bytes:
            # The bytes as they came, which the cache stores with a copy: pickling a page of
            # parsed contacts cost more than parsing the bytes again on a hit. An odd, large
            # answer is not kept: a few would evict everything else (or fill Redis).
            try:
                cache.set(cache_key, body, timeout=self.config.cache_ttl)
            except Exception:
                log.warning("cache unavailable, result not kept", exc_info=True)
        return result

    def _prepared(
        self, organisation: Organisation, path: str, params: dict[str, Any]
    ) -> requests.PreparedRequest:
        """The GET of `path` with `params` and the organisation's key, with the session's
        headers (the one place the key is put on a request)."""
        request = self.session.prepare_request(
            requests.Request(
                "GET",
                self.config.base_url + path,
                params=params,
                headers={"x-api-key": organisation.api_key},
            )
        )
        if "%2E" in path:
            # requests decodes %2E back to "." (an unreserved character), and the HTTP client
            # then collapses a "." or ".." segment: put the path back as encoded.
            base_path = urlsplit(self.config.base_url).path.rstrip("/")
            request.url = urlunsplit(urlsplit(request.url)._replace(path=base_path + path))
        return request

    def _get_body(
        self,
        organisation: Organisation,
        path: str,
        params: dict[str, Any],
        deadline: float,
        cache_state: str,
        *,
        policy: RetryPolicy | None = None,
        reserve: int = 0,
        observe: Callable[[Answer, float, float | None], None] | None = None,
        stop: threading.Event | None = None,
        on_retry: Callable[[DashboardError], None] | None = None,
    ) -> bytes:
        """The body of a 2xx for `path`, attempting as `policy` allows (a page view's by
        default). `on_retry` hears each failed attempt that is tried again; the last one is
        raised. A failed attempt is not tried again once the organisation's circuit is open."""
        policy = policy or RetryPolicy.for_pages(self.config)
        call = _Call(organisation, path, params, deadline, cache_state, reserve, observe)
        request = self._prepared(organisation, path, params)
        attempt = 0
        while True:
            attempt += 1
            if stop is not None and stop.is_set():
                raise Cancelled("the scan was closed")
            result = self._attempt(call, request, attempt)
            if not isinstance(result, Failure):
                return result
            wait = policy.wait(attempt, result, deadline)
            if wait is None or self.breaker.is_open(organisation.id):
                raise result.error from result.cause
            if on_retry is not None:
                on_retry(result.error)
            if stop is not None:
                stop.wait(wait)  # a closed scan does not wait out its backoff
            else:
                time.sleep(wait)

    def _attempt(
        self, call: _Call, request: requests.PreparedRequest, attempt: int
    ) -> bytes | Failure:
        """One attempt: the body of a 2xx, or how it failed. Logged, and told to `observe`."""
        remaining = call.deadline - time.monotonic()
        if remaining <= 0:
            raise UpstreamTimeout("deadline passed before the call")
        timeout = (
            min(self.config.connect_timeout, remaining),
            min(self.config.read_timeout, remaining),
        )
        started = sent = time.monotonic()
        result: bytes | Failure
        try:
            with call_slot(
                call.organisation.id,
                limit=self.config.max_concurrent_calls,
                deadline=call.deadline,
                hold=self.config.deadline + 5,
                reserve=call.reserve,
            ):
                sent = time.monotonic()  # the wait for a slot is not the upstream's latency
                with self.session.send(
                    request,
                    timeout=timeout,
                    # A redirect could carry the key header to another host.
                    allow_redirects=False,
                    stream=True,
                    **environment(self.config.base_url),
                ) as response:
                    content = self._read_body(response, call.deadline)
        except (NoSlot, BodyTooLarge, requests.RequestException) as exc:
            result = self._transport_failure(call, exc)
        else:
            status = response.status_code
            result = (
                content if 200 <= status < 300 else self._answer_failure(call, response, content)
            )
        outcome = result.outcome if isinstance(result, Failure) else str(status)
        self._log(
            call.organisation, call.path, call.params, outcome, started, attempt, call.cache_state
        )
        if isinstance(result, Failure):
            if result.answer is not None and call.observe is not None:
                call.observe(result.answer, time.monotonic() - sent, result.error.retry_after)
        elif call.observe is not None:
            call.observe(Answer.OK, time.monotonic() - sent, None)
        return result

    def _transport_failure(self, call: _Call, exc: Exception) -> Failure:
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
                self.config.max_body_bytes,
            )
            error = UpstreamBadResponse(
                f"answer larger than {self.config.max_body_bytes} bytes "
                "(CONTACTSHIP_MAX_BODY_BYTES)"
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

    def _answer_failure(self, call: _Call, response: requests.Response, content: bytes) -> Failure:
        status = response.status_code
        error = self._error_for(call.organisation, call.path, response, content)
        if status in OVERLOAD_STATUSES:
            answer = Answer.OVERLOAD
        elif isinstance(error, UpstreamNotFound):
            # "No such contact" is a lookup's everyday answer, as clean as a 200.
            answer = Answer.OK
        else:
            answer = Answer.ERROR
        return Failure(str(status), error, status=status, answer=answer)

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The whole body, read as it arrives, within the deadline and the size cap.

        A read timeout bounds each socket read, not the body: an answer trickling a byte at a
        time would outlive any deadline. So the socket's timeout is cut to what is left of the
        deadline before each read, and the deadline is checked between reads. Bodies above
        CONTACTSHIP_MAX_BODY_BYTES (decoded) raise BodyTooLarge, announced or not.
        """
        cap = self.config.max_body_bytes
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > cap:
            raise BodyTooLarge
        raw = response.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise requests.ReadTimeout("deadline passed while reading the answer")
                if sock is not None:
                    sock.settimeout(min(self.config.read_timeout, remaining))
                # As it arrives (one socket read each, decoded if compressed), not in requests'
                # 10 KiB steps: a page is ~40 KiB and each step costs as much as it reads.
                chunk = raw.read1(READ_SIZE, decode_content=True)
                if not chunk:
                    return b"".join(parts)
                size += len(chunk)
                if size > cap:
                    raise BodyTooLarge
                parts.append(chunk)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            # A socket timeout may come through unwrapped (TimeoutError is an OSError): it is
            # still the deadline or the read timeout passing, not a broken connection.
            raise requests.ReadTimeout(str(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise requests.ConnectionError(type(exc).__name__) from exc

    def _error_for(
        self, organisation: Organisation, path: str, response: requests.Response, content: bytes
    ) -> UpstreamError:
        status = response.status_code
        if status == 400:
            return UpstreamBadRequest(_complaint(content, organisation.api_key))
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

    @staticmethod
    def _log(
        organisation: Organisation,
        path: str,
        params: dict[str, Any],
        outcome: str,
        started: float,
        attempt: int,
        cache_state: str,
    ) -> None:
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


def upstream_reachable(*, timeout: float) -> None:
    """Raise unless the API answers at all, for readiness probes. Any HTTP answer means
    reachable; no key is sent (a probe must not spend the quota, and a 401 is expected)."""
    requests.get(
        settings.CONTACTSHIP_API_URL.rstrip("/") + "/contacts",
        timeout=timeout,
        allow_redirects=False,
    )


def contactship_client() -> ContactshipClient:
    """A client with the current settings over the process's shared session."""
    return ContactshipClient(ClientConfig.from_settings(), shared_session())
