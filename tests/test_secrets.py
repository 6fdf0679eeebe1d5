"""The organisations' keys never reach a page, a log line, a cache key or an exception."""

import logging

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse

from contacts.demo.data import contacts_for
from contacts.demo.faults import Faults
from contacts.upstream.errors import UpstreamError
from contacts.upstream.organisations import organisation_get
from tests.conftest import KEYS

pytestmark = pytest.mark.django_db


def cache_keys() -> list[str]:
    """Every key in the cache, whichever backend this run uses."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return [k.decode() for k in backend._cache.get_client().keys("*")]
    return list(backend._cache.keys())


FAULTS = [
    Faults(),
    Faults(status=401),
    Faults(status=400),
    Faults(status=503),
    Faults(non_json=True),
    Faults(hang=True),
    Faults(rate_limit_retry_after=30),
    Faults(fail_from_offset=100),
]


@pytest.mark.slow
def test_no_key_in_pages_logs_exceptions_or_cache_keys(member_client, faulty, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    org = "org-harbor"
    urls = [
        reverse("contact_list", args=[org]) + "?full_name=a",
        reverse("contact_detail", args=[org, contacts_for(org)[0]["id"]]),
        reverse("contact_export", args=[org, "csv"]),
    ]
    for faults in FAULTS:
        faulty(faults)
        cache.clear()
        for url in urls:
            response = member_client.get(url)
            if response.streaming:
                try:
                    seen.append(b"".join(response.streaming_content).decode("utf-8-sig"))
                except UpstreamError as exc:
                    seen.extend([str(exc), repr(exc), exc.detail, str(exc.__context__)])
            else:
                seen.append(response.content.decode())
            seen.extend(f"{k}: {v}" for k, v in response.items())
        seen.extend(cache_keys())
    seen.append(caplog.text)
    seen.extend(repr(r.__dict__) for r in caplog.records)
    seen.append(repr(organisation_get(org)))
    everything = "\n".join(seen)
    assert "upstream org=org-harbor" in everything  # the capture did capture
    for key in KEYS.values():
        assert key not in everything
