"""Keys that rotate without a restart: a key file read again when it changes, the previous key
tried once when Contactship rejects the current one, and `check_keys` for the operator."""

import logging
import os
import secrets
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contacts import metrics
from contacts.demo.faults import Faults
from contacts.demo.server import serve_in_thread
from contacts.upstream.organisations import KeySource, organisation_get
from tests.conftest import KEYS
from tests.support import csv_rows

ORG = "org-tejo"
TEJO_SIZE = 2_345  # the demo organisation's contacts


def search_url(org_id: str = ORG) -> str:
    return reverse("contact_list", args=[org_id]) + "?refresh=1"


def test_a_key_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "key"
    path.write_text("first-key-0001\n")
    source = KeySource(file=str(path))
    assert source.read() == "first-key-0001"
    path.write_text("second-key-0002\n")  # same length, rewritten in place
    assert source.read() == "second-key-0002"
    replacement = tmp_path / "new"
    replacement.write_text("third-key-0003")
    os.replace(replacement, path)  # as a secret mount swaps its file
    assert source.read() == "third-key-0003"
    path.unlink()
    assert source.read() == ""


def test_a_rotated_key_file_takes_effect_without_a_restart(
    upstream, settings, member_client, tmp_path
):
    path = tmp_path / "tejo-key"
    path.write_text("not-the-key-" + secrets.token_hex(8))
    settings.CONTACTSHIP_ORGANISATIONS = {
        **upstream.organisations,
        ORG: {"name": "Tejo", "api_key_file": str(path)},
    }
    rejected = member_client.get(search_url())
    assert rejected.status_code == 502 or rejected.status_code >= 500
    path.write_text(KEYS[ORG] + "\n")
    accepted = member_client.get(search_url())
    assert accepted.status_code == 200
    assert b"col-full_name" in accepted.content


def test_the_previous_key_is_tried_once_when_the_current_one_is_rejected(
    upstream, settings, member_client, caplog
):
    settings.CONTACTSHIP_ORGANISATIONS = {
        **upstream.organisations,
        ORG: {"name": "Tejo", "api_key": "new-key-not-yet-active", "previous_api_key": KEYS[ORG]},
    }
    with caplog.at_level(logging.INFO, logger="contacts.upstream.client"):
        response = member_client.get(search_url())
    assert response.status_code == 200
    assert b"col-full_name" in response.content
    fallbacks = [r for r in caplog.records if "the previous key was tried" in r.getMessage()]
    assert len(fallbacks) == 1 and "accepted=yes" in fallbacks[0].getMessage()
    attempts = [r for r in caplog.records if r.getMessage().startswith("upstream ")]
    assert len(attempts) == 2  # the current key, then the previous one: once
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert KEYS[ORG] not in logged and "new-key-not-yet-active" not in logged


def test_without_a_previous_key_a_rejected_key_is_an_error_page(upstream, settings, member_client):
    settings.CONTACTSHIP_ORGANISATIONS = {
        **upstream.organisations,
        ORG: {"name": "Tejo", "api_key": "rejected-" + secrets.token_hex(8)},
    }
    response = member_client.get(search_url())
    assert response.status_code >= 500
    assert b"col-full_name" not in response.content


def test_a_previous_key_equal_to_the_current_one_is_not_tried_again(settings):
    settings.CONTACTSHIP_ORGANISATIONS = {
        ORG: {"name": "Tejo", "api_key": "same-key-12345", "previous_api_key": "same-key-12345"}
    }
    assert organisation_get(ORG).previous_api_key == ""


@pytest.mark.slow
def test_an_export_running_while_the_key_rotates_carries_on_with_the_new_key(
    settings, member_client, tmp_path
):
    old, new = "old-" + secrets.token_hex(12), "new-" + secrets.token_hex(12)
    path = tmp_path / "tejo-key"
    path.write_text(old)
    with serve_in_thread({ORG: old}, Faults(latency_ms=20)) as server:
        settings.CONTACTSHIP_API_URL = server.base_url
        settings.CONTACTSHIP_ORGANISATIONS = {ORG: {"name": "Tejo", "api_key_file": str(path)}}
        response = member_client.get(reverse("contact_export", args=[ORG, "csv"]))
        assert response.status_code == 200
        chunks = iter(response.streaming_content)
        first = next(chunks)
        # Contactship switches to the new key (the old one stops working) and so does the file.
        path.write_text(new)
        server.keys.clear()
        server.keys[new] = ORG
        body = first + b"".join(chunks)
    rows = csv_rows(body)
    assert len(rows) == TEJO_SIZE + 1  # every contact, and the header


def test_check_keys_prints_a_table_without_keys(upstream, settings, tmp_path):
    path = tmp_path / "harbor-key"
    path.write_text(KEYS["org-harbor"])
    settings.CONTACTSHIP_ORGANISATIONS = {
        "org-harbor": {"name": "Harbor", "api_key_file": str(path)},
        ORG: {
            "name": "Tejo",
            "api_key": "wrong-" + secrets.token_hex(8),
            "previous_api_key": KEYS[ORG],
        },
    }
    out = StringIO()
    with pytest.raises(CommandError, match="Not accepted: org-tejo"):
        call_command("check_keys", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["organisation", "key", "source", "key", "answer"]
    harbor = next(line for line in lines if line.startswith("org-harbor"))
    assert f"file {path}" in harbor and KEYS["org-harbor"][-4:] in harbor and harbor.endswith("ok")
    tejo = next(line for line in lines if line.startswith(ORG))
    assert "inline" in tejo and "401" in tejo
    previous = lines[lines.index(tejo) + 1]
    assert previous.strip().startswith("previous") and previous.endswith("ok")
    text = out.getvalue()
    for key in (KEYS["org-harbor"], KEYS[ORG]):
        assert key not in text


def test_check_keys_passes_when_every_key_is_accepted(upstream, settings):
    settings.CONTACTSHIP_ORGANISATIONS = {"org-harbor": upstream.organisations["org-harbor"]}
    out = StringIO()
    call_command("check_keys", stdout=out)
    assert out.getvalue().splitlines()[1].endswith("ok")


def test_a_fallback_to_the_previous_key_is_counted(upstream, settings, member_client):
    settings.CONTACTSHIP_ORGANISATIONS = {
        **upstream.organisations,
        ORG: {"name": "Tejo", "api_key": "newer-key-not-active", "previous_api_key": KEYS[ORG]},
    }
    before = metrics.sample("contactship_key_fallbacks_total", {"organisation": ORG}) or 0
    assert member_client.get(search_url()).status_code == 200
    after = metrics.sample("contactship_key_fallbacks_total", {"organisation": ORG})
    assert after == before + 1
