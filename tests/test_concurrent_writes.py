"""Simultaneous writes on the SQLite set-up wait for each other instead of failing.

SQLite lets one writer in at a time. A transaction that read first and writes afterwards (a
column choice's update_or_create) used to fail at once with "database is locked" when another
had begun writing meanwhile: a 500 for one of two people who chose columns in the same moment.
Against gunicorn with two workers on a real SQLite file.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live import live_stack

pytestmark = pytest.mark.live

ORG = "org-tejo"
WRITERS = 16


@pytest.fixture(scope="module")
def stack():
    with live_stack(org_ids=[ORG], workers=2, threads=8) as running:
        yield running


def test_simultaneous_column_choices_all_succeed(stack):
    sessions = [stack.login() for _ in range(WRITERS)]
    search = stack.url(f"/orgs/{ORG}/contacts/")
    for session in sessions:
        session.get(search, timeout=30).raise_for_status()  # the CSRF cookie

    def choose(index: int) -> int:
        session = sessions[index]
        keys = ["email", "full_name"] if index % 2 else ["country", "full_name", "email"]
        response = session.post(
            search,
            data={
                "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
                "order": keys,
                "shown": keys,
            },
            headers={"Referer": search},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code

    for _ in range(3):
        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = list(pool.map(choose, range(WRITERS)))
        assert statuses == [303] * WRITERS, stack.log_tail("gunicorn", 40)
    assert "database is locked" not in stack.log_tail("gunicorn", 400)
