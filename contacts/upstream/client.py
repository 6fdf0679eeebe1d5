"""The client of Contactship: what the views, the exports and the commands call.

It owns one logical call: the cache of identical requests, the circuit breaker, the key check and
the retry loop, over one attempt (`attempt`: the call slot, the HTTP request, the bounded body
read, the mapping of every failure into the typed errors of `errors`) and a retry policy
(`retry`). It returns typed contacts, or for a scan or a bulk lookup the API's bytes: nothing
past this package sees `requests`. The organisation's key is read here and only here.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
import requests
from django.core.cache import cache

from contacts import metrics
from contacts.contact.identifiers import Identifier
from contacts.contact.query import ContactQuery
from contacts.contact.types import Contact
from contacts.upstream.attempt import Call, Failure, Observe, attempt, log_call
from contacts.upstream.breaker import HALF_OPEN, OPEN, CircuitBreaker
from contacts.upstream.config import ClientConfig
from contacts.upstream.decode import contact_from_json, contacts_from_json
from contacts.upstream.errors import (
    Cancelled,
    CircuitOpen,
    DashboardError,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from contacts.upstream.organisations import Organisation
from contacts.upstream.retry import RetryPolicy, pause
from contacts.upstream.transport import prepared_get, shared_session

log = logging.getLogger(__name__)

CACHE_PREFIX = "contactship:v2"  # v2: the cache holds the API's bytes, not parsed contacts
# Failures that say the upstream is unwell; a 400, 401 or 404 says it is alive.
BREAKER_FAILURES = (UpstreamUnavailable, UpstreamTimeout, UpstreamBadResponse)

T = TypeVar("T")


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
        observe: Observe | None = None,
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
        call = self._new_call(
            organisation,
            "/contacts",
            self._list_params(query, offset),
            deadline,
            "off",
            reserve=self.config.reserved_calls,
            observe=observe,
        )
        policy = RetryPolicy.for_scans(self.config)
        return self._get_body(call, policy=policy, stop=stop, on_retry=on_retry)

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
        observe: Observe | None = None,
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
        call = self._new_call(
            organisation,
            self._identifier_path(identifier),
            {"identifierType": identifier.kind},
            deadline,
            "off",
            reserve=self.config.reserved_calls,
            observe=observe,
        )
        policy = RetryPolicy.for_scans(self.config)
        return self._get_body(call, policy=policy, stop=stop, on_retry=on_retry)

    @staticmethod
    def _identifier_path(identifier: Identifier) -> str:
        # Classified values are never "." or "..", which the HTTP client would collapse.
        if not identifier.valid or identifier.value in (".", ".."):
            raise ValueError("not a classified identifier")
        return f"/contacts/{quote(identifier.value, safe='')}"

    # --- the breaker, for scans and lookups too -------------------------------------------------

    def breaker_check(
        self, organisation: Organisation, path: str = "/contacts", params: dict | None = None
    ) -> None:
        """Raise `CircuitOpen` if calls for `organisation` are failing fast now."""
        if not self.breaker.allow(organisation.id):
            log_call(organisation, path, params or {}, "circuit-open", 0.0, 0, "skip")
            metrics.count_refusal(organisation.id, metrics.BREAKER_OPEN)
            raise CircuitOpen("circuit open")

    def breaker_ahead(self, organisation: Organisation) -> bool:
        """For a caller whose calls go out later, each asking `breaker.allow` as it goes (a bulk
        lookup): raise `CircuitOpen` if calls for `organisation` are failing fast now, without
        claiming the half-open trial, which only a call going out may take. True when
        half-open: the first call should then go alone, and the others wait for its outcome."""
        state = self.breaker.state(organisation.id)
        if state == OPEN:
            log_call(organisation, "/contacts", {}, "circuit-open", 0.0, 0, "skip")
            metrics.count_refusal(organisation.id, metrics.BREAKER_OPEN)
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
                log_call(organisation, path, params, "cached", 0.0, 0, "hit")
                return parse(hit)

        self.breaker_check(organisation, path, params)
        self._require_key(organisation)

        cache_state = "refresh" if refresh else ("miss" if caching else "off")
        if deadline is None:
            deadline = time.monotonic() + self.config.deadline
        try:
            call = self._new_call(organisation, path, params, deadline, cache_state)
            body = self._get_body(call)
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

    def _new_call(
        self,
        organisation: Organisation,
        path: str,
        params: dict[str, Any],
        deadline: float,
        cache_state: str,
        *,
        reserve: int = 0,
        observe: Observe | None = None,
    ) -> Call:
        base_url = self.config.base_url
        request = prepared_get(self.session, base_url, path, params, organisation.api_key)
        return Call(organisation, path, params, request, deadline, cache_state, reserve, observe)

    def _get_body(
        self,
        call: Call,
        *,
        policy: RetryPolicy | None = None,
        stop: threading.Event | None = None,
        on_retry: Callable[[DashboardError], None] | None = None,
    ) -> bytes:
        """The body of a 2xx for `call`, attempting as `policy` allows (a page view's by
        default). `on_retry` hears each failed attempt that is tried again; the last one is
        raised. A failed attempt is not tried again once the organisation's circuit is open;
        `stop` set ends the call before its next attempt (`Cancelled`)."""
        policy = policy or RetryPolicy.for_pages(self.config)
        number = 0
        while True:
            number += 1
            if stop is not None and stop.is_set():
                raise Cancelled("the scan was closed")
            result = attempt(call, number, config=self.config, session=self.session)
            if isinstance(result, Failure) and isinstance(result.error, UpstreamAuthError):
                result = self._with_other_keys(call, number, result)
            if not isinstance(result, Failure):
                return result
            wait = policy.wait(number, result, call.deadline)
            if wait is None or self.breaker.is_open(call.organisation.id):
                raise result.error from result.cause
            if on_retry is not None:
                on_retry(result.error)
            pause(wait, stop)

    def check_key(self, organisation: Organisation, *, previous: bool = False) -> str:
        """One call of the contact list (one contact) with the organisation's current key, or its
        previous one: no cache, no retry, no fallback, no circuit breaker. The answer, for an
        operator: `ok`, or how it failed (`401: key rejected (401)`); never the key."""
        key = organisation.previous_api_key if previous else organisation.api_key
        if not key:
            return "no key"
        params = {self.config.limit_param: 1, self.config.offset_param: 0}
        request = prepared_get(self.session, self.config.base_url, "/contacts", params, key)
        deadline = time.monotonic() + self.config.deadline
        call = Call(organisation, "/contacts", params, request, deadline, "off")
        result = attempt(call, 1, config=self.config, session=self.session)
        if not isinstance(result, Failure):
            return "ok"
        return f"{result.outcome}: {result.error.detail or result.error.message}"

    def _with_other_keys(self, call: Call, number: int, rejected: Failure) -> bytes | Failure:
        """`call` again after Contactship rejected the key it was sent with: with the current
        key if it changed meanwhile (a file rotated while the call was in flight), then with the
        previous key of a rotation; each at most once. A key being rotated keeps working until
        the new one is accepted, and a call never fails for a key that is no longer current."""
        organisation = call.organisation
        sent = call.request.headers.get("x-api-key", "")
        result = rejected
        for which, key in (
            ("current", organisation.api_key),
            ("previous", organisation.previous_api_key),
        ):
            if not key or key == sent:
                continue
            request = prepared_get(self.session, self.config.base_url, call.path, call.params, key)
            call = replace(call, request=request)
            sent = key
            result = attempt(call, number, config=self.config, session=self.session)
            accepted = not isinstance(result, Failure)
            if which == "previous":
                metrics.count_key_fallback(organisation.id)
            log.warning(
                "Contactship rejected the key a call was sent with, the %s key was tried org=%s "
                "accepted=%s",
                which,
                organisation.id,
                "yes" if accepted else "no",
            )
            if accepted or not isinstance(result.error, UpstreamAuthError):
                return result
        return result


def contactship_client() -> ContactshipClient:
    """A client with the current settings over the process's shared session."""
    return ContactshipClient(ClientConfig.from_settings(), shared_session())
