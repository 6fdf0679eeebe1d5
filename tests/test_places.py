"""Places of long requests (exports, summaries, page lookups): per person, per process, given back
however the request ends, and surviving a Redis that freezes. In-process here, against the demo
API over loopback; `test_live_places.py` shows the same under gunicorn."""

import os
import signal
import time

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from contacts import places, semaphore
from contacts.cache import outage
from tests.support import logged_in_client, make_user
from tests.test_redis_outage import redis_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

ORG = "org-andes"  # 60,000 contacts: a summary that lasts
TOKEN = "a" * 24


def _client(django_user_model, name: str, *, can_export: bool = False) -> Client:
    return logged_in_client(django_user_model, name, {ORG: can_export})


@pytest.fixture
def held():
    responses = []
    yield responses
    for response in responses:
        response.close()


def summary_json(client: Client, **params: str):
    return client.get(reverse("contact_summary_json", args=[ORG]), {"refresh": "1", **params})


def test_summaries_beyond_the_limits_are_refused_at_once_and_others_carry_on(
    upstream, settings, django_user_model, held, caplog
):
    settings.DASHBOARD_SUMMARIES_PER_USER = 2
    settings.DASHBOARD_SUMMARIES_PER_PROCESS = 3
    hoarder = _client(django_user_model, "hoarder")
    for _ in range(2):
        response = summary_json(hoarder)
        assert response.status_code == 200 and response.streaming
        held.append(response)
    started = time.monotonic()
    refused = summary_json(hoarder)
    assert time.monotonic() - started < 1.0
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    body = refused.json()
    assert body["error"] == "too_many_running" and body["running"] == 2 and body["limit"] == 2
    assert "Summaries of yours being counted now: 2." in body["message"]
    page = hoarder.get(reverse("contact_summary", args=[ORG]), {"refresh": "1"})
    assert page.status_code == 429 and page["Retry-After"]
    assert "Each person may count 2 at a time" in page.content.decode()
    refused_es = hoarder.get(
        reverse("contact_summary_json", args=[ORG]),
        {"refresh": "1"},
        headers={"Accept-Language": "es"},
    )
    assert "Resúmenes suyos que se están contando ahora: 2." in refused_es.json()["message"]
    # The operator's line names the limit, never a filter value.
    lines = [r.getMessage() for r in caplog.records if "summary refused" in r.getMessage()]
    assert lines and "user=hoarder" in lines[0] and "limit=user" in lines[0]

    # Someone else: one more summary fits the process, then the process is full.
    other = _client(django_user_model, "other")
    response = summary_json(other, full_name="zz-nobody-has-this")
    held.append(response)
    assert response.status_code == 200
    full = summary_json(other)
    assert full.status_code == 429
    assert "busy counting other people's summaries" in full.json()["message"]
    # Exports, searches and the login page are not held up by summaries.
    assert other.get(reverse("contact_list", args=[ORG]), {"full_name": "a"}).status_code == 200
    assert Client().get(reverse("login")).status_code == 200

    # A summary that ends gives its place back.
    held.pop(0).close()
    response = summary_json(hoarder)
    assert response.status_code == 200
    held.append(response)


def test_a_summary_from_the_cache_takes_no_place(upstream, settings, django_user_model):
    settings.DASHBOARD_SUMMARIES_PER_USER = 1
    client = Client()
    client.force_login(make_user(django_user_model, "tejo", {"org-tejo": False}))
    params = {"full_name": "ana"}
    url = reverse("contact_summary_json", args=["org-tejo"])
    first = client.get(url, params)
    b"".join(first.streaming_content)
    running = client.get(url, {"full_name": "luis", "refresh": "1"})
    try:
        assert running.status_code == 200
        cached = client.get(url, params)
        assert cached.status_code == 200 and not cached.streaming
    finally:
        running.close()


def test_a_page_lookup_never_takes_an_export_place(upstream, settings, django_user_model, held):
    settings.DASHBOARD_EXPORTS_PER_PROCESS = 1
    settings.DASHBOARD_LOOKUPS_PER_PROCESS = 4
    settings.DASHBOARD_LOOKUPS_PER_USER = 4
    looker = _client(django_user_model, "looker")
    for _ in range(4):
        response = looker.post(
            reverse("contact_lookup", args=[ORG]),
            {"identifiers": "\n".join(f"p{n}@example.com" for n in range(200))},
            headers={"Accept": "application/x-ndjson"},
        )
        assert response.status_code == 200
        held.append(response)
    exporter = _client(django_user_model, "exporter", can_export=True)
    export = exporter.get(reverse("contact_export", args=[ORG, "csv"]))
    assert export.status_code == 200
    held.append(export)


def test_a_refused_export_writes_no_progress_key(upstream, settings, django_user_model, held):
    settings.DASHBOARD_EXPORTS_PER_USER = 1
    client = _client(django_user_model, "progress", can_export=True)
    url = reverse("contact_export", args=[ORG, "csv"])
    held.append(client.get(url, {"progress": "r" * 24}))
    for n in range(5):
        refused = client.get(url, {"progress": f"{n}" * 24})
        assert refused.status_code == 429
    user_id = refused.wsgi_request.user.pk
    assert not [n for n in range(5) if cache.get(f"export-progress:{ORG}:{user_id}:{str(n) * 24}")]
    state = client.get(reverse("contact_export_progress", args=[ORG]), {"token": "0" * 24})
    assert state.json()["state"] == "unknown"
    running = client.get(reverse("contact_export_progress", args=[ORG]), {"token": "r" * 24})
    assert running.json()["state"] == "running"


@pytest.mark.slow
def test_an_export_place_outlives_its_hold_while_it_runs_and_comes_back_after_a_freeze(
    redis_server,  # noqa: F811
    settings,
    django_user_model,
    held,
):
    settings.REDIS_URL = redis_server.url
    settings.DASHBOARD_EXPORTS_PER_USER = 1
    settings.DASHBOARD_PLACE_HOLD_SECONDS = 2.0
    client = _client(django_user_model, "blip", can_export=True)
    user_id = str(django_user_model.objects.get(username="blip").pk)
    key = places._key(places.EXPORT, user_id)
    direct = redis.Redis.from_url(redis_server.url)
    url = reverse("contact_export", args=[ORG, "csv"])

    running = client.get(url)
    assert running.status_code == 200
    assert direct.zcard(key) == 1  # counted in Redis, for every replica
    time.sleep(3.0)  # longer than a hold: renewed while it runs
    assert client.get(url).status_code == 429

    # Redis freezes, a page notices (this process then rests Redis), and the export ends
    # meanwhile: its release is not sent.
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        cache.get("anything")
        assert outage.down
        running.close()
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert direct.zcard(key) == 1  # the lost release: still taken in Redis

    # Redis answers again: the place comes back within a hold (before: the export's maximum
    # plus a minute, 31 minutes), by the retried release or by expiry.
    deadline = time.monotonic() + settings.DASHBOARD_CACHE_RETRY_SECONDS + 2.0 + 3.0
    while direct.zcard(key) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert direct.zcard(key) == 0, "the place stayed taken after the freeze"
    while outage.down and time.monotonic() < deadline + 3:
        cache.get("anything")
        time.sleep(0.2)
    assert not outage.down
    again = client.get(url)
    assert again.status_code == 200
    held.append(again)
    assert direct.zcard(key) == 1  # taken in Redis again, not in this process only


@pytest.mark.live
def test_the_renewer_retries_a_release_that_failed(redis_server, settings):  # noqa: F811
    settings.REDIS_URL = redis_server.url
    settings.DASHBOARD_PLACE_HOLD_SECONDS = 600.0  # expiry cannot be what gives it back
    direct = redis.Redis.from_url(redis_server.url)
    place = places.take_place(places.SUMMARY, "retry-user")
    key = places._key(places.SUMMARY, "retry-user")
    assert place.shared and direct.zcard(key) == 1
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        place.release()
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert place.token in semaphore.renewer.pending()
    deadline = time.monotonic() + settings.DASHBOARD_CACHE_RETRY_SECONDS + 5
    while direct.zcard(key) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert direct.zcard(key) == 0


def test_the_process_total_leaves_threads_whatever_the_kinds(
    upstream, settings, django_user_model, held
):
    settings.DASHBOARD_PLACES_PER_PROCESS = 2
    exporter = _client(django_user_model, "exporter", can_export=True)
    export = exporter.get(reverse("contact_export", args=[ORG, "csv"]))
    assert export.status_code == 200
    held.append(export)
    counting = summary_json(exporter)
    assert counting.status_code == 200
    held.append(counting)
    # A kind with places of its own left is refused all the same: the process is full.
    refused = exporter.post(
        reverse("contact_lookup", args=[ORG]),
        {"identifiers": "a@example.com"},
        headers={"Accept": "application/x-ndjson"},
    )
    assert refused.status_code == 429
    assert "The dashboard is busy with other people" in refused.content.decode()
