"""Who is really asking: the client's address behind the reverse proxies we trust.

A request from an address in DASHBOARD_TRUSTED_PROXIES carries the client's address in
X-Forwarded-For, set by that proxy (deploy/nginx/dashboard.conf.template overwrites the header with
the address it saw, so a client cannot choose it). From any other address the header is the
client's own invention and is ignored. The login throttle (django-axes), the audit and intranet
sign-in all ask here, so they agree on one address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.DASHBOARD_TRUSTED_PROXIES))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:1234"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "10.0.0.1:1234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the request's peer is one of the reverse proxies we trust."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and any(peer in network for network in trusted_networks())


def client_address(request: HttpRequest) -> str | None:
    """The client's address: from X-Forwarded-For when a trusted proxy sent the request.

    Hops are read from the right: each trusted proxy appends the address it saw, so the first
    address from the right that is not a trusted proxy is the client. A client's own entries
    further left are never believed.
    """
    peer = request.META.get("REMOTE_ADDR") or None
    if not from_trusted_proxy(request):
        return peer
    networks = trusted_networks()
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: nothing left of it can be trusted
        if not any(address in network for network in networks):
            return str(address)
    return peer
