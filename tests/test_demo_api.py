"""The bundled demo Contactship API, over real HTTP on loopback (no Django needed)."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from contacts.demo import data
from contacts.demo.__main__ import build_parser, main, parse_organisations
from contacts.demo.data import contacts_for, find, matches
from contacts.demo.faults import Faults
from contacts.demo.server import DemoServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "org-andes": "key-andes",
    "org-tejo": "key-tejo",
    "org-harbor": "key-harbor",
    "org-custom": "key-custom",
}
DEMO_ORGS = ("org-andes", "org-tejo", "org-harbor")
TIMEOUT = 5


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with serve_in_thread(KEYS) as running:
        yield running


@pytest.fixture
def api(server: DemoServer) -> Iterator[DemoServer]:
    """The shared server with no faults, reset after the test whatever it switched on."""
    server.faults = Faults()
    yield server
    server.faults = Faults()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(
    http: requests.Session,
    server: DemoServer,
    path: str = "/contacts",
    org: str | None = "org-tejo",
    **params: Any,
) -> requests.Response:
    headers = {"x-api-key": KEYS[org]} if org else {}
    return http.get(server.base_url + path, headers=headers, params=params, timeout=TIMEOUT)


def ids(contacts: Any) -> list[str]:
    return [contact["id"] for contact in contacts]


# --- authentication ----------------------------------------------------------------------------


def test_missing_key_is_401(api: DemoServer, http: requests.Session) -> None:
    response = get(http, api, org=None)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or missing API key"}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_wrong_key_is_401(api: DemoServer, http: requests.Session) -> None:
    response = http.get(
        api.base_url + "/contacts", headers={"x-api-key": "key-nope"}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or missing API key"}


@pytest.mark.parametrize("org", DEMO_ORGS)
def test_each_key_sees_only_its_own_organisation(
    api: DemoServer, http: requests.Session, org: str
) -> None:
    page = get(http, api, org=org).json()
    assert page == list(contacts_for(org)[:100])
    assert {contact["organization_id"] for contact in page} == {org}


def test_any_configured_org_gets_a_small_generated_dataset(
    api: DemoServer, http: requests.Session
) -> None:
    page = get(http, api, org="org-custom").json()
    assert len(page) == data.GENERATED_ORGANISATION_SIZE == 25
    assert page == list(contacts_for("org-custom"))
    assert {contact["organization_id"] for contact in page} == {"org-custom"}
    assert not set(ids(page)) & set(ids(contacts_for("org-harbor")))


# --- filters ----------------------------------------------------------------------------------


def test_full_name_filter_is_a_partial_match(api: DemoServer, http: requests.Session) -> None:
    page = get(http, api, org="org-harbor", full_name="ana").json()
    assert page == matches("org-harbor", full_name="ana")
    assert len(page) >= 5
    assert all("ana" in contact["full_name"].casefold() for contact in page)
    others = [c for c in contacts_for("org-harbor") if c not in page]
    assert not any("ana" in (c.get("full_name") or "").casefold() for c in others)


def test_filters_are_case_insensitive(api: DemoServer, http: requests.Session) -> None:
    pages = [get(http, api, full_name=query).json() for query in ("ana", "ANA", "aNa")]
    assert pages[0] == pages[1] == pages[2] == matches("org-tejo", full_name="ana")[:100]
    upper = get(http, api, org="org-andes", email="GMAIL").json()
    assert upper == get(http, api, org="org-andes", email="gmail").json()
    assert upper and all("gmail" in contact["email"].casefold() for contact in upper)


def test_phone_prefix_plus_must_be_percent_encoded(api: DemoServer, http: requests.Session) -> None:
    # requests sends "+52" as "%2B52"; a raw "+" means a space, as in any form-encoded query.
    page = get(http, api, org="org-andes", phone_number="+52").json()
    assert len(page) == 100
    assert all(contact["phone_number"].startswith("+52") for contact in page)
    assert page == matches("org-andes", phone_number="+52")[:100]
    raw = http.get(
        api.base_url + "/contacts?phone_number=+52",
        headers={"x-api-key": KEYS["org-andes"]},
        timeout=TIMEOUT,
    )
    assert raw.status_code == 200
    # A search for " 52": only numbers written with spaces (contacts.demo.quality) hold it.
    spaced = raw.json()
    assert spaced and all(" 52" in contact["phone_number"] for contact in spaced)


def test_filters_combine_with_and(api: DemoServer, http: requests.Session) -> None:
    both = matches("org-andes", full_name="ana", email="hotmail")
    assert 0 < len(both) < len(matches("org-andes", email="hotmail"))
    assert len(both) < len(matches("org-andes", full_name="ana"))
    assert all(
        "ana" in c["full_name"].casefold() and "hotmail" in c["email"].casefold() for c in both
    )
    page = get(http, api, org="org-andes", full_name="ANA", email="hotmail", limit=100).json()
    assert page == both[:100]
    three = get(
        http, api, org="org-andes", full_name="ana", email="hotmail", phone_number="+57"
    ).json()
    expected = matches("org-andes", full_name="ana", email="hotmail", phone_number="+57")
    assert 0 < len(expected) < len(both)
    assert three == expected[:100]
    assert three and all(contact["phone_number"].startswith("+57") for contact in three)


def test_accents_are_not_stripped(api: DemoServer, http: requests.Session) -> None:
    accented = get(http, api, org="org-andes", full_name="Pérez").json()
    plain = get(http, api, org="org-andes", full_name="perez").json()
    assert accented and plain
    assert all("pérez" in contact["full_name"].casefold() for contact in accented)
    assert not any("pérez" in contact["full_name"].casefold() for contact in plain)
    assert accented == matches("org-andes", full_name="pérez")[:100]


def test_null_or_missing_fields_never_match() -> None:
    with_email = [c for c in contacts_for("org-tejo") if "@" in (c.get("email") or "")]
    assert any(c.get("email", "") is None for c in contacts_for("org-tejo"))
    assert any("email" not in c for c in contacts_for("org-tejo"))
    assert matches("org-tejo", email="@") == with_email
    named = [c for c in contacts_for("org-tejo") if c.get("full_name")]
    assert matches("org-tejo", full_name=" ") == [c for c in named if " " in c["full_name"]]


def test_empty_and_unknown_parameters_are_ignored(api: DemoServer, http: requests.Session) -> None:
    expected = list(contacts_for("org-tejo")[:100])
    assert get(http, api, full_name="", email="").json() == expected
    assert get(http, api, sort="name", page="3").json() == expected


# --- paging -----------------------------------------------------------------------------------


def test_limit_and_offset(api: DemoServer, http: requests.Session) -> None:
    assert get(http, api, limit=7, offset=10).json() == list(contacts_for("org-tejo")[10:17])
    assert get(http, api).json() == list(contacts_for("org-tejo")[:100])


def test_limit_above_100_is_capped(api: DemoServer, http: requests.Session) -> None:
    assert get(http, api, limit=500, offset=3).json() == list(contacts_for("org-tejo")[3:103])


def test_walking_every_page_of_tejo_gives_the_whole_dataset(
    api: DemoServer, http: requests.Session
) -> None:
    walked: list[dict[str, Any]] = []
    requests_made = 0
    while True:
        page = get(http, api, limit=100, offset=len(walked)).json()
        requests_made += 1
        walked.extend(page)
        if len(page) < 100:
            break
    assert requests_made == 24  # 2,345 contacts: 23 full pages and one of 45
    assert walked == list(contacts_for("org-tejo"))
    assert len(set(ids(walked))) == 2_345


def test_filtered_results_page_too(api: DemoServer, http: requests.Session) -> None:
    expected = matches("org-tejo", full_name="ana")
    assert len(expected) > 100  # the dashboard has to page through an "ana" search
    walked: list[dict[str, Any]] = []
    while page := get(http, api, full_name="ana", offset=len(walked)).json():
        walked.extend(page)
    assert walked == expected


def test_the_end_of_the_60000_contact_org(api: DemoServer, http: requests.Session) -> None:
    last = get(http, api, org="org-andes", offset=59_950).json()
    assert last == list(contacts_for("org-andes")[59_950:])
    assert len(last) == 50
    assert get(http, api, org="org-andes", offset=60_000).json() == []
    assert get(http, api, org="org-andes", offset="9" * 40).json() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "limit must be an integer between 1 and 100"),
        ({"limit": "-1"}, "limit must be an integer between 1 and 100"),
        ({"limit": "ten"}, "limit must be an integer between 1 and 100"),
        ({"limit": "1.5"}, "limit must be an integer between 1 and 100"),
        ({"limit": ""}, "limit must be an integer between 1 and 100"),
        ({"limit": "\u0663"}, "limit must be an integer between 1 and 100"),  # Arabic-Indic 3
        ({"offset": "-1"}, "offset must be a non-negative integer"),
        ({"offset": "x"}, "offset must be a non-negative integer"),
        ({"full_name": "a" * 201}, "full_name must be at most 200 characters"),
        ({"email": "a" * 201}, "email must be at most 200 characters"),
        ({"phone_number": "1" * 201}, "phone_number must be at most 200 characters"),
    ],
)
def test_invalid_parameters_are_400(
    api: DemoServer, http: requests.Session, params: dict[str, str], message: str
) -> None:
    response = get(http, api, **params)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_a_200_character_filter_is_accepted(api: DemoServer, http: requests.Session) -> None:
    response = get(http, api, full_name="é" * 200)
    assert response.status_code == 200
    assert response.json() == []


# --- single contact ---------------------------------------------------------------------------


def test_get_contact_by_id_phone_and_email(api: DemoServer, http: requests.Session) -> None:
    contact = next(c for c in contacts_for("org-tejo") if c.get("email"))
    assert get(http, api, f"/contacts/{contact['id']}").json() == contact
    assert get(http, api, f"/contacts/{contact['id']}", identifierType="id").json() == contact
    phone = contact["phone_number"]
    # A literal "+" in a path is not a space; an encoded one works too.
    for path_phone in (phone, "%2B" + phone[1:]):
        response = get(http, api, f"/contacts/{path_phone}", identifierType="phone_number")
        assert response.json() == contact
    by_email = get(http, api, f"/contacts/{contact['email'].upper()}", identifierType="email")
    assert by_email.json() == contact


def test_unknown_or_foreign_contact_is_404(api: DemoServer, http: requests.Session) -> None:
    for path in (
        f"/contacts/{uuid.UUID(int=0)}",
        f"/contacts/{contacts_for('org-andes')[0]['id']}",
    ):
        response = get(http, api, path)
        assert response.status_code == 404
        assert response.json() == {"error": "Contact not found"}


def test_invalid_identifier_type_is_400(api: DemoServer, http: requests.Session) -> None:
    contact_id = contacts_for("org-tejo")[0]["id"]
    response = get(http, api, f"/contacts/{contact_id}", identifierType="uuid")
    assert response.status_code == 400
    assert "identifierType" in response.json()["error"]


def test_find_matches_the_endpoint() -> None:
    mixed = next(
        c for c in contacts_for("org-andes") if c.get("email") and not c["email"].islower()
    )
    assert find("org-andes", mixed["email"].lower(), "email") is mixed
    assert find("org-andes", mixed["phone_number"], "phone_number") is mixed
    assert find("org-andes", mixed["id"]) is mixed
    assert find("org-andes", mixed["id"].upper()) is None  # ids are exact
    with pytest.raises(ValueError, match="identifier_type"):
        find("org-andes", mixed["id"], "name")  # type: ignore[arg-type]


# --- other paths and methods ------------------------------------------------------------------


def test_unknown_paths_are_404_json(api: DemoServer, http: requests.Session) -> None:
    root = api.base_url.removesuffix("/v1")
    for path in ("/", "/v1/contact", "/v1/contacts/", "/v1/contacts/a/b", "/v2/contacts"):
        response = http.get(root + path, headers={"x-api-key": KEYS["org-tejo"]}, timeout=TIMEOUT)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found"}, path


def test_other_methods_are_405_json(api: DemoServer) -> None:
    for method in ("POST", "DELETE", "PATCH", "FOO"):
        response = requests.request(
            method, api.base_url + "/contacts", json={"x": 1}, timeout=TIMEOUT
        )
        assert response.status_code == 405, method
        assert response.json() == {"error": f"Method {method} not allowed"}
        assert response.headers["Allow"] == "GET"


def test_health_check_needs_no_key_and_ignores_faults(
    api: DemoServer, http: requests.Session
) -> None:
    api.faults = Faults(status=503, non_json=True)
    response = http.get(api.base_url.removesuffix("/v1") + "/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_connections_are_kept_alive(api: DemoServer) -> None:
    before = api.connections_accepted
    with requests.Session() as session:
        for offset in range(5):
            response = get(session, api, offset=offset, limit=3)
            assert response.headers["Content-Length"] == str(len(response.content))
    assert api.connections_accepted == before + 1


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 500, 502, 503])
def test_status_fault(api: DemoServer, http: requests.Session, status: int) -> None:
    api.faults = Faults(status=status)
    response = get(http, api)
    assert response.status_code == status
    assert isinstance(response.json()["error"], str)


def test_latency_fault(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(latency_ms=300)
    started = time.monotonic()
    response = get(http, api, limit=1)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.3 <= elapsed < 1.5


def test_hang_fault_times_a_client_out(api: DemoServer) -> None:
    api.faults = Faults(hang=True)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            api.base_url + "/contacts", headers={"x-api-key": KEYS["org-tejo"]}, timeout=(2, 0.5)
        )
    assert time.monotonic() - started < 2


def test_shutdown_does_not_wait_for_hanging_or_idle_connections() -> None:
    outcome: queue.Queue[BaseException | int] = queue.Queue()
    with requests.Session() as idle, serve_in_thread({"org-harbor": "k"}) as running:
        assert get(idle, running, org=None).status_code == 401  # leaves a pooled connection

        def hanging_request() -> None:
            try:
                outcome.put(requests.get(running.base_url + "/contacts", timeout=10).status_code)
            except requests.RequestException as error:
                outcome.put(error)

        running.faults = Faults(hang=True)
        thread = threading.Thread(target=hanging_request, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while running.requests_seen == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.requests_seen == 1
        started = time.monotonic()
    assert time.monotonic() - started < 1.5
    thread.join(5)
    assert isinstance(outcome.get(timeout=1), requests.ConnectionError)  # dropped, never answered


def test_non_json_fault(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(non_json=True)
    response = get(http, api)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "maintenance" in response.text
    with pytest.raises(ValueError):
        response.json()
    assert get(http, api, org=None).json() == {"error": "Invalid or missing API key"}


def test_wrong_shape_fault(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(wrong_shape=True)
    listed = get(http, api, limit=2).json()
    assert listed == {"data": list(contacts_for("org-tejo")[:2])}
    contact = contacts_for("org-tejo")[5]
    assert get(http, api, f"/contacts/{contact['id']}").json() == [contact]
    assert get(http, api, "/contacts/nope").status_code == 404  # errors keep their shape


def test_rate_limit_for_the_first_requests_only(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(rate_limit_retry_after=1, rate_limit_count=2)
    for _ in range(2):
        limited = get(http, api, limit=1)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "1"
        assert limited.json() == {"error": "Too many requests"}
    assert get(http, api, limit=1).json() == list(contacts_for("org-tejo")[:1])


def test_rate_limit_on_every_request(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(rate_limit_retry_after=30)
    assert [get(http, api).status_code for _ in range(4)] == [429] * 4


def test_a_client_that_honours_retry_after_succeeds(api: DemoServer) -> None:
    api.faults = Faults(rate_limit_retry_after=0, rate_limit_count=2)
    retry = Retry(total=3, status_forcelist=[429], respect_retry_after_header=True)
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        response = get(session, api, limit=1)
    assert response.status_code == 200
    assert api.requests_seen == 3


def test_error_rate_fault_is_seeded(api: DemoServer, http: requests.Session) -> None:
    def statuses() -> list[int]:
        api.faults = Faults(error_rate=0.4)  # setting faults restarts the seeded draws
        return [get(http, api, limit=1).status_code for _ in range(25)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first
    api.faults = Faults(error_rate=1.0)
    assert get(http, api).json() == {"error": "Internal server error"}


def test_ignore_paging_fault(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(ignore_paging=True)
    first_100 = list(contacts_for("org-tejo")[:100])
    assert get(http, api, limit=10, offset=100).json() == first_100
    assert get(http, api, offset=2_300).json() == first_100


def test_fail_from_offset_fault(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(fail_from_offset=200)
    assert get(http, api, offset=100).status_code == 200
    assert get(http, api, offset=199, limit=5).status_code == 200
    assert get(http, api, offset=200).status_code == 500
    assert get(http, api, offset=300).status_code == 500
    contact = contacts_for("org-tejo")[0]
    assert get(http, api, f"/contacts/{contact['id']}").status_code == 200


def test_faults_apply_in_order(api: DemoServer, http: requests.Session) -> None:
    api.faults = Faults(latency_ms=150, status=503, rate_limit_retry_after=1, error_rate=1.0)
    started = time.monotonic()
    assert get(http, api, org=None).status_code == 503  # before auth, after the latency
    assert time.monotonic() - started >= 0.15
    api.faults = Faults(rate_limit_retry_after=1, error_rate=1.0)
    assert get(http, api).status_code == 429


@pytest.mark.slow
def test_max_concurrent_refuses_what_arrives_beyond_the_limit(api: DemoServer) -> None:
    # Long enough that all four are in flight together even on a loaded machine.
    api.faults = Faults(latency_ms=1500, max_concurrent=2)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        with requests.Session() as session:
            barrier.wait()
            statuses.append(get(session, api, limit=1).status_code)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 429, 429]
    stats = requests.get(api.base_url.removesuffix("/v1") + "/_demo/stats", timeout=TIMEOUT).json()
    assert stats["refused_concurrent"] == 2
    assert stats["peak_in_flight"] in (3, 4)  # refused ones count while they are answered
    assert stats["in_flight"] == 0
    # One at a time is never refused.
    with requests.Session() as session:
        assert [get(session, api, limit=1).status_code for _ in range(3)] == [200] * 3
    assert Faults(max_concurrent=3).describe() == "429 beyond 3 concurrent requests"
    parsed = Faults.from_args(build_parser().parse_args(["--max-concurrent", "3"]))
    assert parsed == Faults(max_concurrent=3)


def test_faults_description_and_options() -> None:
    assert Faults().describe() == "none"
    assert not Faults().active
    options = [
        "--latency-ms", "250", "--error-rate", "0.1", "--rate-limit", "2",
        "--rate-limit-count", "3", "--ignore-paging", "--fail-from-offset", "500",
    ]  # fmt: skip
    faults = Faults.from_args(build_parser().parse_args(options))
    assert faults == Faults(
        latency_ms=250,
        error_rate=0.1,
        rate_limit_retry_after=2,
        rate_limit_count=3,
        ignore_paging=True,
        fail_from_offset=500,
    )
    assert faults.describe() == (
        "latency 250 ms, 429 Retry-After 2 s on the first 3 requests, 500 on 10% of requests, "
        "limit/offset ignored, 500 from offset 500"
    )
    hang = Faults.from_args(build_parser().parse_args(["--hang", "--status", "502"]))
    assert hang == Faults(hang=True, status=502)
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="status"):
        Faults(status=200)


@pytest.mark.parametrize(
    "option", [["--error-rate", "2"], ["--status", "200"], ["--latency-ms", "-1"]]
)
def test_bad_fault_options_are_rejected(option: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(option)
    assert exit_info.value.code == 2


# --- the data ---------------------------------------------------------------------------------


def test_organisation_sizes() -> None:
    assert {org: len(contacts_for(org)) for org in DEMO_ORGS} == {
        "org-andes": 60_000,
        "org-tejo": 2_345,
        "org-harbor": 137,
    }
    assert [org.name for org in data.DEMO_ORGANISATIONS.values()] == [
        "Andes Distribuciones",
        "Tejo Comercial",
        "Harbor & Co",
    ]


DIGEST_SCRIPT = """
import hashlib, json, sys, time
from contacts.demo.data import contacts_for
started = time.process_time()
datasets = {org: contacts_for(org) for org in sys.argv[1:]}
seconds = time.process_time() - started
digests = {
    org: hashlib.sha256(json.dumps(list(contacts), sort_keys=True).encode()).hexdigest()
    for org, contacts in datasets.items()
}
print(json.dumps({"seconds": seconds, "digests": digests}))
"""


@pytest.mark.slow
def test_data_is_the_same_in_every_process() -> None:
    # A fresh interpreter with another hash seed: nothing may depend on hash() or set order.
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", DIGEST_SCRIPT, *DEMO_ORGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    child = json.loads(result.stdout)
    for org in DEMO_ORGS:
        contacts = json.dumps(list(contacts_for(org)), sort_keys=True).encode()
        assert child["digests"][org] == hashlib.sha256(contacts).hexdigest(), org
    # Generating all three, Faker pools included, takes about a second of CPU; calling Faker per
    # contact took ten. CPU time, not the clock: a busy machine must not fail this.
    assert child["seconds"] < 5


def test_matching_60000_contacts_is_fast() -> None:
    matches("org-andes", full_name="x")  # generated already; warm
    started = time.thread_time()  # CPU time: a busy machine must not fail this
    found = matches("org-andes", full_name="ana", email="mail")
    assert time.thread_time() - started < 0.25
    assert found


UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PHONE = re.compile(r"^\+[1-9]\d{7,14}$")
FIELDS = {
    "id",
    "created_at",
    "phone_number",
    "full_name",
    "email",
    "country",
    "description",
    "additional_data",
    "organization_id",
}


@pytest.mark.parametrize("org", DEMO_ORGS)
def test_contacts_have_the_api_shape(org: str) -> None:
    contacts = contacts_for(org)
    assert all(set(contact) <= FIELDS for contact in contacts)
    assert all(UUID_V4.match(contact["id"]) for contact in contacts)
    assert all(TIMESTAMP.match(contact["created_at"]) for contact in contacts)
    assert all(contact["organization_id"] == org for contact in contacts)
    keys = [(contact["created_at"], contact["id"]) for contact in contacts]
    assert keys == sorted(keys)
    assert len(set(ids(contacts))) == len(contacts)
    # Phone numbers in E.164, each its own, but for the few contacts.demo.quality rewrote
    # (blank, not a number, or one number written again another way).
    phones = [contact["phone_number"] for contact in contacts]
    e164 = [phone for phone in phones if PHONE.match(phone)]
    assert len(set(e164)) == len(e164)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in e164)
    assert 0 < len(phones) - len(e164) <= max(8, 0.05 * len(contacts))
    # Emails too: ASCII with one @, each its own but for the few typed again in another case
    # (each at most twice) or spoiled.
    emails = [contact["email"].strip() for contact in contacts if contact.get("email")]
    wellformed = [email for email in emails if " " not in email and email.count("@") == 1]
    assert all(email.isascii() for email in emails)
    assert 0 < len(emails) - len(wellformed) <= max(8, 0.05 * len(contacts))
    folded = Counter(email.casefold() for email in wellformed)
    assert max(folded.values()) == 2
    assert sum(n - 1 for n in folded.values()) <= max(2, 0.01 * len(contacts))
    # Several contacts imported in the same second: the id breaks the tie.
    assert len({contact["created_at"] for contact in contacts}) < len(contacts)


@pytest.mark.parametrize("org", DEMO_ORGS)
def test_additional_data_types_and_values(org: str) -> None:
    entries = [entry for contact in contacts_for(org) for entry in contact["additional_data"]]
    assert all(set(entry) == {"type", "field", "value"} for entry in entries)
    by_type: dict[str, list[Any]] = {}
    for entry in entries:
        by_type.setdefault(entry["type"], []).append(entry["value"])
    assert set(by_type) == {"location", "text", "url", "number", "boolean"}
    numbers = by_type["number"]
    assert all(type(value) in (int, float) for value in numbers)
    assert {type(value) for value in numbers} == {int, float}
    assert {value for value in by_type["boolean"]} == {True, False}
    assert all(value.startswith("https://") for value in by_type["url"])
    assert all(isinstance(value, str) and value for value in by_type["location"] + by_type["text"])
    counts = {len(contact["additional_data"]) for contact in contacts_for(org)}
    assert {0, 1, 2, 3, 4} <= counts


@pytest.mark.parametrize(
    ("org", "field_names", "country"),
    [
        ("org-andes", {"dirección", "notas", "sitio_web", "puntuación", "newsletter"}, "México"),
        ("org-tejo", {"endereço", "notas", "site", "pontuação", "newsletter"}, "Brasil"),
        ("org-harbor", {"address", "notes", "website", "score", "newsletter"}, "United States"),
    ],
)
def test_text_is_in_the_organisations_languages(
    org: str, field_names: set[str], country: str
) -> None:
    contacts = contacts_for(org)
    fields = {entry["field"] for contact in contacts for entry in contact["additional_data"]}
    assert field_names <= fields
    assert country in {contact.get("country") for contact in contacts}


@pytest.mark.parametrize("org", DEMO_ORGS)
def test_the_deliberate_untidiness_is_there(org: str) -> None:
    contacts = contacts_for(org)
    for field in ("email", "country", "description"):
        assert any(field in c and c[field] is None for c in contacts), f"null {field}"
        assert any(field not in c for c in contacts), f"missing {field}"
    assert any(c["full_name"] is None for c in contacts)
    repeated = [
        c
        for c in contacts
        if len({e["field"] for e in c["additional_data"]}) < len(c["additional_data"])
    ]
    assert repeated
    descriptions = [c.get("description") or "" for c in contacts]
    notes = [e["value"] for c in contacts for e in c["additional_data"] if e["type"] == "text"]
    assert any(text[:1] in "=+-@" and text for text in descriptions)
    assert any(text[:1] in "=+-@" for text in notes)
    for awkward in (",", '"', "\n"):
        assert any(awkward in text for text in descriptions + notes), repr(awkward)
    assert len(matches(org, full_name="ana")) >= 5


def test_formula_like_values_cover_every_trigger() -> None:
    texts = [
        value
        for org in DEMO_ORGS
        for c in contacts_for(org)
        for value in [c.get("description"), *(e["value"] for e in c["additional_data"])]
        if isinstance(value, str) and value
    ]
    assert {text[0] for text in texts} >= {"=", "+", "-", "@"}


def test_harbor_has_names_in_non_latin_scripts() -> None:
    names = [c["full_name"] or "" for c in contacts_for("org-harbor")]
    scripts = {
        "Han": r"[\u4e00-\u9fff]",
        "Arabic": r"[\u0600-\u06ff]",
        "Greek": r"[\u0370-\u03ff]",
        "Cyrillic": r"[\u0400-\u04ff]",
    }
    for script, pattern in scripts.items():
        assert any(re.search(pattern, name) for name in names), script
    # Searching works on them like on any other name.
    han = next(name for name in names if re.search(scripts["Han"], name))
    assert all(han[:1] in c["full_name"] for c in matches("org-harbor", full_name=han[:1]))


# --- the command line -------------------------------------------------------------------------


class Cli:
    """``python -m contacts.demo`` in a subprocess, its stdout read line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "contacts.demo", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            self.output.append(line)
            if found := re.search(pattern, line):
                return found
        self.process.kill()
        raise AssertionError(f"no {pattern!r} in {self.output!r}")

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=10)
        finally:
            self.process.kill()
        return self.process.returncode, stderr


STARTUP = r"^Demo Contactship API on (http://127\.0\.0\.1:(\d+)/v1) \(faults: (.*)\)$"


@pytest.mark.live
def test_cli_serves_the_configured_organisations_and_stops_on_sigterm() -> None:
    setting = {"org-harbor": {"name": "Harbor & Co", "api_key": "cli-secret-key"}}
    env = {**os.environ, "CONTACTSHIP_ORGANISATIONS": json.dumps(setting)}
    cli = Cli(["--port", "0", "--latency-ms", "5"], env)
    startup = cli.wait_for(STARTUP)
    base_url, port, faults = startup.groups()
    assert int(port) > 0
    assert faults == "latency 5 ms"
    health = requests.get(base_url.removesuffix("/v1") + "/healthz", timeout=TIMEOUT)
    assert health.json() == {"status": "ok"}
    contacts = requests.get(
        base_url + "/contacts", headers={"x-api-key": "cli-secret-key"}, timeout=TIMEOUT
    )
    assert contacts.json() == list(contacts_for("org-harbor")[:100])
    returncode, stderr = cli.stop()
    assert returncode == 0, stderr
    assert "cli-secret-key" not in "".join(cli.output) + stderr


@pytest.mark.live
def test_cli_without_organisations_prints_a_usable_setting() -> None:
    env = {name: value for name, value in os.environ.items() if name != "CONTACTSHIP_ORGANISATIONS"}
    cli = Cli(["--port", "0"], env)
    printed = cli.wait_for(r"^CONTACTSHIP_ORGANISATIONS='(.*)'$")
    setting = json.loads(printed.group(1))
    assert set(setting) == set(DEMO_ORGS)
    base_url = cli.wait_for(STARTUP).group(1)
    key = setting["org-harbor"]["api_key"]
    response = requests.get(base_url + "/contacts", headers={"x-api-key": key}, timeout=TIMEOUT)
    assert response.json() == list(contacts_for("org-harbor")[:100])
    assert cli.stop()[0] == 0


@pytest.mark.parametrize(
    "setting",
    [
        "not json",
        "[]",
        "{}",
        '{"org-a": {"name": "A"}}',
        '{"org-a": {"api_key": ""}}',
        '{"org-a": "bare-key-value"}',
    ],
)
def test_cli_rejects_a_bad_setting_without_echoing_it(
    setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", "0", "--organisations", setting])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--organisations" in error
    assert "bare-key-value" not in error


def test_parse_organisations() -> None:
    setting = '{"org-a": {"name": "A", "api_key": "k-a"}, "org-b": {"api_key": "k-b"}}'
    assert parse_organisations(setting) == {"org-a": "k-a", "org-b": "k-b"}
