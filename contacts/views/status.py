"""`/status/`, for administrators: how each organisation's calls to Contactship are doing.

The page an administrator opens first when a member says "it's slow": the circuit breaker, the
calls in flight against the limit, the calls and failures of the last minutes, the last failure,
the scans' concurrency, and where the key comes from (its last four characters, never the key).
The breaker and the scans' concurrency are read as `/metrics` reads them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from contacts import metrics
from contacts.recent import WINDOW_MINUTES, snapshots
from contacts.upstream.breaker import CLOSED, OPEN
from contacts.upstream.client import contactship_client
from contacts.upstream.limit import in_flight
from contacts.upstream.organisations import KeySource, Organisation, organisation_list


@dataclass(frozen=True)
class KeyShown:
    source: str
    last_four: str

    @classmethod
    def of(cls, source: KeySource) -> "KeyShown | None":
        if source == KeySource():
            return None
        return cls(source.description, source.last_four)


@dataclass(frozen=True)
class OrganisationStatus:
    organisation: Organisation
    breaker: str  # closed, open or half-open
    in_flight: int
    limit: int  # 0: no limit
    scan_concurrency: int  # calls in flight the running scans allow now (this replica)
    calls: int  # in the last WINDOW_MINUTES minutes (fewer while the process is young)
    errors: int
    since: datetime
    last_error_at: datetime | None
    last_error: str
    key: KeyShown | None
    previous_key: KeyShown | None

    @property
    def error_percent(self) -> int:
        return round(100 * self.errors / self.calls) if self.calls else 0


def organisation_status(organisation: Organisation) -> OrganisationStatus:
    client = contactship_client()
    window = snapshots.window(organisation.id)
    breaker = client.breaker.state(organisation.id)
    seen_open = metrics.sample("contactship_breaker_open", {"organisation": organisation.id})
    if breaker == CLOSED and seen_open:
        # Without Redis each worker has its breaker: the replica's latest reading says open.
        breaker = OPEN
    return OrganisationStatus(
        organisation=organisation,
        breaker=breaker,
        in_flight=in_flight(organisation.id),
        limit=client.config.max_concurrent_calls,
        scan_concurrency=round(
            metrics.sample("contactship_scan_concurrency", {"organisation": organisation.id}) or 0
        ),
        calls=window.calls,
        errors=window.failed,
        since=datetime.fromtimestamp(window.since, UTC),
        last_error_at=(
            datetime.fromtimestamp(window.last_failure_at, UTC) if window.last_failure_at else None
        ),
        last_error=window.last_failure,
        key=KeyShown.of(organisation.key_source),
        previous_key=KeyShown.of(organisation.previous_key_source),
    )


@login_required
def status(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied(_("Only administrators see the status page."))
    snapshots.start()  # runserver, tests: a process that did not start it at launch
    rows = [organisation_status(o) for o in organisation_list()]
    response = render(
        request, "contacts/status.html", {"rows": rows, "window_minutes": WINDOW_MINUTES}
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
