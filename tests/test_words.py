"""Words that match what happened: the wait Contactship asked for, on every page that shows its
refusal; and the log-in form's warning before the attempt that would pause it."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from contacts.demo.faults import Faults
from contacts.errors import shown, wait_words
from contacts.upstream.errors import UpstreamRateLimited, UpstreamUnavailable
from tests.support import PASSWORD, body_of

pytestmark = pytest.mark.django_db

ORG = "org-harbor"


@pytest.mark.parametrize(
    "seconds, words",
    [
        (1, "1 second"),
        (30, "30 seconds"),
        (89, "89 seconds"),
        (90, "2 minutes"),
        (600, "10 minutes"),
    ],
)
def test_a_wait_in_words(seconds, words):
    with translation.override("en"):
        assert wait_words(seconds) == words
    with translation.override("pt-br"):
        assert wait_words(seconds).split()[0] == words.split()[0]


@translation.override("en")
def test_the_words_say_the_wait_only_when_contactship_said_one():
    said = shown(UpstreamRateLimited("rate limited", retry_after=30))
    assert (
        said.message
        == "The contacts service asked us to slow down. Please try again in 30 seconds."
    )
    assert said.retry_after == 30
    silent = shown(UpstreamRateLimited("rate limited"))
    assert silent.message.endswith("Please try again in a moment.")
    down = shown(UpstreamUnavailable("upstream status 503", retry_after=120))
    assert down.message.endswith("Please try again in 2 minutes.")
    with translation.override("es"):
        assert "30" in shown(UpstreamRateLimited("rate limited", retry_after=30)).message
        assert "segundos" in shown(UpstreamRateLimited("rate limited", retry_after=30)).message


SAYS_30 = "Please try again in 30 seconds."


def test_every_page_says_how_long_contactship_asked_to_wait(member_client, faulty):
    faulty(Faults(rate_limit_retry_after=30))
    search = member_client.get(reverse("contact_list", args=[ORG]))
    assert search.status_code == 503
    assert search["Retry-After"] == "30"
    assert SAYS_30 in search.content.decode()

    typed = member_client.get(
        reverse("contact_list", args=[ORG]) + "?full_name=a", HTTP_HX_REQUEST="true"
    )
    assert typed.status_code == 503 and SAYS_30 in typed.content.decode()

    contact = member_client.get(
        reverse("contact_detail", args=[ORG, "00000000-0000-4000-8000-000000000000"])
    )
    assert contact.status_code == 503 and SAYS_30 in contact.content.decode()

    summary = member_client.get(reverse("contact_summary", args=[ORG]))
    assert summary.status_code == 503 and SAYS_30 in body_of(summary).decode()

    as_json = member_client.get(reverse("contact_summary_json", args=[ORG]))
    assert as_json.status_code == 503
    assert as_json["Retry-After"] == "30"
    assert json.loads(body_of(as_json))["message"].endswith(SAYS_30)


# --- the log-in form ------------------------------------------------------------------------


def log_in(client, password: str):
    return client.post(reverse("login"), {"username": "ana", "password": password})


LAST = "One attempt left: after one more failure, logging in with this name from here is paused"


def test_the_fourth_failure_warns_that_one_attempt_is_left(client, member):
    pages = [log_in(client, "wrong").content.decode() for _ in range(4)]
    assert all("Please enter a correct username and password" in page for page in pages)
    assert [LAST in page for page in pages] == [False, False, False, True]
    assert f"{LAST} for 15 minutes." in pages[3]
    locked = log_in(client, "wrong")
    assert locked.status_code == 429


def test_a_success_starts_the_count_again(client, member):
    for _ in range(3):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    pages = [log_in(client, "wrong").content.decode() for _ in range(3)]
    assert not any(LAST in page for page in pages)


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=None)
def test_the_warning_follows_the_limit_and_a_pause_without_end(client, member):
    pages = [log_in(client, "wrong").content.decode() for _ in range(2)]
    assert LAST not in pages[0]
    assert f"{LAST} until an administrator unlocks it." in pages[1]


def test_the_warning_is_in_the_readers_language(client, member):
    for _ in range(3):
        log_in(client, "wrong")
    page = client.post(
        reverse("login"), {"username": "ana", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "15 minutos" in page
