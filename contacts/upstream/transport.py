"""The HTTP plumbing under the client: the process's pooled session, the environment's proxy and
CA settings, the one GET request that carries the organisation's key, and the bounded read of an
answer's body. No retries, no error types of the dashboard: those are `attempt`'s and `retry`'s.
"""

import functools
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

from contacts.log import current_request_id
from contacts.upstream.errors import BodyTooLarge

USER_AGENT = "contacts-dashboard/1.0"
# Bytes asked of the socket per read; a read returns what has arrived, up to this.
READ_SIZE = 256 * 1024

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


def prepared_get(
    session: requests.Session, base_url: str, path: str, params: dict[str, Any], api_key: str
) -> requests.PreparedRequest:
    """The GET of `path` with `params` and the organisation's key, with the session's headers
    (the one place the key is put on a request), and the id of the request that makes it, so
    that Contactship's logs can be matched with the dashboard's."""
    headers = {"x-api-key": api_key}
    request_id = current_request_id()
    if request_id:
        headers["X-Request-ID"] = request_id
    request = session.prepare_request(
        requests.Request("GET", base_url + path, params=params, headers=headers)
    )
    if "%2E" in path:
        # requests decodes %2E back to "." (an unreserved character), and the HTTP client
        # then collapses a "." or ".." segment: put the path back as encoded.
        base_path = urlsplit(base_url).path.rstrip("/")
        request.url = urlunsplit(urlsplit(request.url)._replace(path=base_path + path))
    return request


def read_body(
    response: requests.Response, *, deadline: float, read_timeout: float, cap: int
) -> bytes:
    """The whole body, read as it arrives, within the deadline and the size cap.

    A read timeout bounds each socket read, not the body: an answer trickling a byte at a
    time would outlive any deadline. So the socket's timeout is cut to what is left of the
    deadline before each read, and the deadline is checked between reads. Bodies above `cap`
    bytes (decoded) raise BodyTooLarge, announced or not.
    """
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
                sock.settimeout(min(read_timeout, remaining))
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


def upstream_reachable(*, timeout: float) -> None:
    """Raise unless the API answers at all, for readiness probes. Any HTTP answer means
    reachable; no key is sent (a probe must not spend the quota, and a 401 is expected)."""
    requests.get(
        settings.CONTACTSHIP_API_URL.rstrip("/") + "/contacts",
        timeout=timeout,
        allow_redirects=False,
    )
