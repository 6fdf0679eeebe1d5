"""Whether two origins are the same site, as browsers decide it: scheme and registrable domain.

The registrable domain ("eTLD+1") comes from the Public Suffix List bundled with the
`publicsuffixlist` package: read from the installed package, never fetched at run time. So
`intranet.example.co.uk` and `contacts.example.co.uk` are one site, `a.github.io` and
`b.github.io` are two, and `http://x.example.com` and `https://x.example.com` are two (browsers'
"schemeful same-site"). An IP address, or a name without a dot, is a site of its own.

Imported by the settings: nothing here may use Django.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit


@cache
def _suffixes():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(host: str) -> str:
    """`contacts.example.co.uk` → `example.co.uk`; an IP address or `localhost` stays whole."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    return _suffixes().privatesuffix(host) or host


def site(origin: str) -> tuple[str, str]:
    """The site of an origin (`https://contacts.example.com:8443`): (scheme, registrable domain)."""
    parts = urlsplit(origin)
    return parts.scheme.lower(), registrable_domain(parts.hostname or "")


def any_cross_site(ancestors: Iterable[str], own_origins: Iterable[str]) -> bool:
    """Whether some origin in `ancestors` is on none of the sites of `own_origins`."""
    own = {site(origin) for origin in own_origins}
    return any(site(origin) not in own for origin in ancestors)
