"""Upstream failures become pages here, and only here."""

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import UpstreamError

log = logging.getLogger(__name__)


class UpstreamErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UpstreamError):
            return None
        organisation = getattr(request, "organisation", None)
        # The detail is the operator's: short, typed, never a key (the client writes it).
        log.warning(
            "upstream error shown org=%s path=%s error=%s detail=%s status=%d",
            getattr(organisation, "id", "-"),
            request.path,
            type(exception).__name__,
            exception.detail,
            exception.status,
        )
        response = render(
            request,
            "contacts/upstream_error.html",
            {"error": exception, "organisation": organisation},
            status=exception.status,
        )
        if exception.retry_after:
            response["Retry-After"] = str(max(1, round(exception.retry_after)))
        return response
