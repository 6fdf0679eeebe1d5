"""Pages for what goes wrong outside any one view."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form came back without the cookie that proves it is ours (CSRF_FAILURE_VIEW).

    Mostly a browser that withholds the dashboard's cookies inside an intranet's frame (third-
    party cookies blocked, or a cross-site frame on plain HTTP), so the page says so and offers
    the dashboard in a tab of its own, where its cookies are first-party. Django's CSRF check
    has already logged the operator's line ("Forbidden (CSRF cookie not set.)").
    """
    cookie_missing = settings.CSRF_COOKIE_NAME not in request.COOKIES
    context = {
        "cookie_missing": cookie_missing,
        # The same page, outside the frame (embed=0: with the full layout).
        "new_tab_url": f"{request.path}?{urlencode({**request.GET.dict(), 'embed': '0'})}",
    }
    return render(request, "csrf_failure.html", context, status=403)
