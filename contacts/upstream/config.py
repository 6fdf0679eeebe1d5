"""The client's settings, read once per client from Django's settings (CONTACTSHIP_*)."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


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
