"""The OIDC sign-in configured only through the environment, under gunicorn: the dashboard as
operators run it, the provider (contacts/demo/oidc_provider.py) in a subprocess, a browser's session
played by requests."""

import json
import subprocess
import sys
from urllib.parse import urlparse

import pytest
import requests

from tests.live import live_stack
from tests.support import ROOT

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def provider_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "contacts.demo.oidc_provider", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "http://" in line, f"provider did not start: {line!r}"
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sign_in_logout_and_refusals_configured_by_the_environment(provider_url, tmp_path):
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("live-client-secret\n")
    env = {
        "DASHBOARD_OIDC_ISSUER": provider_url,
        "DASHBOARD_OIDC_CLIENT_ID": "contacts-dashboard",
        "DASHBOARD_OIDC_CLIENT_SECRET_FILE": str(secret_file),
        "DASHBOARD_OIDC_NAME": "Intranet",
        "DASHBOARD_GROUP_MEMBERSHIPS": json.dumps({"harbor": ["org-harbor:export"]}),
        "DASHBOARD_ACCESS_CONTACT": "the service desk",
    }
    requests.put(
        f"{provider_url}/users/rui-1",
        json={"email": "rui@example.org", "name": "Rui Sousa", "groups": ["harbor"]},
        timeout=5,
    ).raise_for_status()
    requests.put(
        f"{provider_url}/users/sol-1", json={"email": "sol@example.org", "groups": []}, timeout=5
    ).raise_for_status()
    with live_stack(org_ids=["org-harbor"], env=env) as stack:
        browser = requests.Session()
        login_page = browser.get(f"{stack.dashboard_url}/accounts/login/", timeout=10)
        assert "Sign in with Intranet" in login_page.text

        def sign_in(sub: str) -> requests.Response:
            start = browser.get(
                f"{stack.dashboard_url}/accounts/oidc/login/?next=/",
                allow_redirects=False,
                timeout=10,
            )
            assert start.status_code == 302, start.text[:300]
            at_provider = requests.post(
                start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=5
            )
            callback = urlparse(at_provider.headers["Location"])
            assert callback.path == "/accounts/oidc/callback/"
            return browser.get(f"{stack.dashboard_url}{callback.path}?{callback.query}", timeout=10)

        page = sign_in("rui-1")
        assert page.status_code == 200
        assert page.url.endswith("/orgs/org-harbor/contacts/")  # the one organisation

        logout = browser.post(
            f"{stack.dashboard_url}/accounts/logout/",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": f"{stack.dashboard_url}/"},
            allow_redirects=False,
            timeout=10,
        )
        assert logout.status_code == 302
        assert logout.headers["Location"].startswith(f"{provider_url}/oauth2/end_session?")

        browser.cookies.clear()
        page = sign_in("sol-1")
        assert "Your account has no organisation in the dashboard" in page.text
        assert "the service desk" in page.text
        assert "live-client-secret" not in page.text
