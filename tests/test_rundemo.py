"""`make run`'s first-run facts: a busy port fails at once, and the demo password is kept."""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from contacts.management.commands import rundemo
from tests.live import HOST, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def state_file(tmp_path, monkeypatch):
    path = tmp_path / ".demo-run.json"
    monkeypatch.setattr(rundemo, "DEMO_STATE", path)
    return path


def test_a_busy_port_fails_at_once_with_a_clear_message_and_no_banner(state_file, capsys):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("rundemo", host=HOST, port=port, api_port=free_port())
    assert f"Port {port} on {HOST} (for the dashboard) is already in use" in str(refused.value)
    assert "make run PORT=" in str(refused.value)
    assert "Log in as" not in capsys.readouterr().out
    assert not state_file.exists()  # nothing was started or written


def test_a_free_port_is_free():
    assert not rundemo.port_in_use(HOST, free_port())


def test_the_demo_password_is_kept_between_runs_and_renewed_on_request(state_file):
    command = rundemo.Command()
    first = command._demo_login(["org-tejo"], None)
    rundemo.write_demo_state({"password": first, "organisations": {}, "api_url": ""})
    assert state_file.stat().st_mode & 0o777 == 0o600
    kept = rundemo.read_demo_state()["password"]
    assert command._demo_login(["org-tejo"], kept) == first
    user = get_user_model().objects.get(username="demo")
    assert user.check_password(first)
    # A kept password that is no longer the user's (changed in the admin) is replaced.
    user.set_password("changed-elsewhere")
    user.save()
    renewed = command._demo_login(["org-tejo"], kept)
    assert renewed != first
    assert get_user_model().objects.get(username="demo").check_password(renewed)


@pytest.fixture
def make_run_settings(settings):
    """The settings `make run` gives (DEBUG, DASHBOARD_DESIGNED_ERRORS=1)."""
    settings.DEBUG = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE]
    settings.MIDDLEWARE.insert(
        settings.MIDDLEWARE.index("contacts.middleware.UpstreamErrorMiddleware"),
        "contacts.middleware.DesignedNotFoundMiddleware",
    )
    return settings


@pytest.mark.parametrize(
    "path",
    [
        "/orgs/org-nowhere/contacts/",  # a view's 404: no such organisation
        "/nope/",  # no URL pattern matches
        "/orgs/org-tejo/contacts/a/b/",
    ],
)
def test_make_run_shows_the_designed_404(client, make_run_settings, upstream, member, path):
    client.force_login(member)
    response = client.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and "There is nothing at this address" in body
    assert "Django tried these URL patterns" not in body and "technical" not in body.lower()


def test_make_run_still_adds_a_missing_slash(client, make_run_settings):
    response = client.get("/accounts/login")
    assert response.status_code == 301
    assert response["Location"] == "/accounts/login/"
