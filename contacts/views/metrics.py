"""`/metrics`: the Prometheus text format, for a scraper holding DASHBOARD_METRICS_TOKEN.

Any other request is a 404, as if the address did not exist, and every request is while the
token is unset. Under gunicorn the answer is the sum over the replica's workers, whichever
worker answers (see `contacts.metrics`).
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from contacts import metrics
from contacts.exports.formats import EXPORTS


def scraper_authorised(request: HttpRequest) -> bool:
    """Whether `request` carries `Authorization: Bearer <DASHBOARD_METRICS_TOKEN>`, compared in
    constant time; never while the token is unset."""
    token = settings.DASHBOARD_METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
def metrics_page(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD") or not scraper_authorised(request):
        raise Http404
    metrics.declare(settings.CONTACTSHIP_ORGANISATIONS, EXPORTS)
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
